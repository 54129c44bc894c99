using System.Globalization;
using StorageBridge.Tests;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>
/// tus-js-client 4.3.1 (tests/clients/tus-upload.mjs, real Node client) uploading to a GCS target: the object in the
/// emulator equals the source by sha-256, and GCS's own md5Hash and crc32c match the source's.
/// </summary>
public sealed class TusClientOnGcsTests(GcsEmulatorHost emulator) : IClassFixture<GcsEmulatorHost>
{
    private const int MiB = 1024 * 1024;
    private const long Size = (20L * MiB) + 4321;

    [Theory(Timeout = 180_000)]
    [InlineData("tus-v1", MiB)]
    [InlineData("tus-v1", 17 * MiB)]
    [InlineData("ietf-draft-05", 5 * MiB)]
    [InlineData("ietf-draft-05", 17 * MiB)]
    [InlineData("ietf-draft-03", MiB)]
    public async Task Upload_equals_the_source_in_GCS(string protocol, int chunkSize)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var server = await GcsBridgeServer.StartAsync(emulator, new Dictionary<string, string?> { ["PartSize"] = "8MiB" });
        string folder = Directory.CreateTempSubdirectory("sb-gcs-tus-").FullName;
        try
        {
            string path = Path.Combine(folder, "source.bin");
            await DeterministicData.WriteFileAsync(path, 0x6C5UL + (ulong)chunkSize, Size, cts.Token);
            ContentHashes source = await ContentHashes.OfFileAsync(path, cts.Token);

            // IETF modes: buffer input, whose last chunk carries Upload-Complete: ?1 (only the client completes an
            // IETF upload; tus-js-client marks the last chunk of a file stream ?0).

            var result = await ChildProcess.RunAsync(
                "node",
                [Path.Combine(RepositoryLayout.ClientsDirectory, "tus-upload.mjs"), new Uri(server.BaseAddress, "uploads/gcs").ToString(), path, protocol,
                    chunkSize.ToString(CultureInfo.InvariantCulture), "--input", protocol == "tus-v1" ? "stream" : "buffer"],
                RepositoryLayout.ClientsDirectory,
                TimeSpan.FromMinutes(2),
                cts.Token);
            Assert.True(result.ExitCode == 0, result.ToString());

            string url = System.Text.Json.JsonDocument.Parse(result.StandardOutput.Trim().Split('\n')[^1]).RootElement.GetProperty("url").GetString()!;
            string key = "ietf/" + new Uri(url).Segments[^1];
            await ContentHashes.AssertObjectAsync(emulator, key, source, cts.Token);
            await emulator.Client.DeleteObjectAsync(emulator.Bucket, key, cancellationToken: cts.Token);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
