using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Configuration;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>IETF resumable uploads through the bridge onto a <c>Backend: Gcs</c> target backed by the emulator.</summary>
public sealed class IetfOnGcsTests(GcsEmulatorHost emulator) : IClassFixture<GcsEmulatorHost>, IAsyncLifetime
{
    private GcsBridgeServer? server;
    private HttpClient client = null!;

    public async Task InitializeAsync()
    {
        server = await GcsBridgeServer.StartAsync(emulator);
        client = server.Client;
    }

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData((256 * 1024) + 1)]
    [InlineData((3 * 1024 * 1024) + 17)]
    public async Task Upload_in_uneven_appends_lands_in_GCS_with_matching_hashes(int size)
    {
        byte[] source = new byte[size];
        new Random(size).NextBytes(source);

        // Creation with the first 100,000 bytes, then appends of 300,001 bytes (never chunk-aligned).
        int first = Math.Min(size, 100_000);
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/gcs") { Content = new ByteArrayContent(source[..first]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", first == size ? "?1" : "?0");
        create.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-test");
        using HttpResponseMessage created = await client.SendAsync(create);
        Assert.True(created.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, created.StatusCode.ToString());
        var location = new Uri(client.BaseAddress!, created.Headers.Location!);

        int offset = first;
        while (offset < size)
        {
            int count = Math.Min(300_001, size - offset);
            using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(source, offset, count) };
            patch.Headers.Add("Upload-Draft-Interop-Version", "8");
            patch.Headers.Add("Upload-Offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
            patch.Headers.Add("Upload-Complete", offset + count == size ? "?1" : "?0");
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
            using HttpResponseMessage appended = await client.SendAsync(patch);
            Assert.True(appended.IsSuccessStatusCode, $"{appended.StatusCode}: {await appended.Content.ReadAsStringAsync()}");
            offset += count;
        }

        string id = location.AbsolutePath.Split('/')[^1];
        var stored = await emulator.Client.GetObjectAsync(emulator.Bucket, "ietf/" + id);
        var downloaded = new MemoryStream();
        await emulator.Client.DownloadObjectAsync(emulator.Bucket, "ietf/" + id, downloaded);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(source)), Convert.ToHexString(SHA256.HashData(downloaded.ToArray())));
        Assert.Equal((ulong)size, stored.Size);
        Assert.Equal(Convert.ToBase64String(MD5.HashData(source)), stored.Md5Hash);
        Assert.Equal("application/x-test", stored.ContentType);

        // No staged tail is left behind.
        Assert.Empty(emulator.Client.ListObjects(emulator.Bucket, $".staging/{id}/"));
    }

    [Fact]
    public async Task Reaching_the_length_with_Upload_Complete_0_commits_no_object_until_the_client_completes()
    {
        // 512 KiB: chunk-aligned, so the write that reaches the declared length would finalize the GCS session if the
        // backend were told the length; only the client's empty Upload-Complete: ?1 append may commit the object.
        byte[] source = new byte[512 * 1024];
        new Random(512).NextBytes(source);
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/gcs") { Content = new ByteArrayContent([]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", source.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using HttpResponseMessage created = await client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = new Uri(client.BaseAddress!, created.Headers.Location!);
        string key = "ietf/" + location.AbsolutePath.Split('/')[^1];

        using (HttpResponseMessage all = await client.SendAsync(Patch(location, 0, "?0", source)))
        {
            Assert.Equal(HttpStatusCode.NoContent, all.StatusCode);
            Assert.Equal("?0", all.Headers.GetValues("Upload-Complete").Single());
        }

        var early = await Assert.ThrowsAsync<Google.GoogleApiException>(() => emulator.Client.GetObjectAsync(emulator.Bucket, key));
        Assert.Equal(HttpStatusCode.NotFound, early.HttpStatusCode);

        using (HttpResponseMessage finish = await client.SendAsync(Patch(location, source.Length, "?1", [])))
        {
            Assert.Equal(HttpStatusCode.OK, finish.StatusCode);
        }

        var downloaded = new MemoryStream();
        await emulator.Client.DownloadObjectAsync(emulator.Bucket, key, downloaded);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(source)), Convert.ToHexString(SHA256.HashData(downloaded.ToArray())));
    }

    private static HttpRequestMessage Patch(Uri location, long offset, string complete, byte[] content)
    {
        var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(content) };
        patch.Headers.Add("Upload-Draft-Interop-Version", "8");
        patch.Headers.Add("Upload-Offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
        patch.Headers.Add("Upload-Complete", complete);
        patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        return patch;
    }

    [Theory]
    // Unaligned chunks, each staged in two 256 KiB pieces when it arrives early; and aligned ones.
    [InlineData(300_000, 2_000_003)]
    [InlineData(256 * 1024, (5 * 256 * 1024) + 99)]
    public async Task Resumable_chunks_shuffled_three_at_once_land_in_GCS(int chunkSize, int size)
    {
        byte[] source = new byte[size];
        new Random(chunkSize).NextBytes(source);
        var answer = await StorageBridge.Tests.ResumableChunks.UploadAsync(
            client, "uploads/gcs", source, chunkSize, new StorageBridge.Tests.ChunkUploadOptions { ShuffleSeed = 3, Duplicates = 2 });

        var downloaded = new MemoryStream();
        await emulator.Client.DownloadObjectAsync(emulator.Bucket, "ietf/" + answer.Id, downloaded);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(source)), Convert.ToHexString(SHA256.HashData(downloaded.ToArray())));
        Assert.Empty(emulator.Client.ListObjects(emulator.Bucket, $".staging/{answer.Id}/"));
    }

    [Theory]
    [InlineData("Expiration", "8d")]
    [InlineData("Expiration", "none")]
    [InlineData("PartSize", "100KiB")]
    [InlineData("Bucket", "")]
    public void Invalid_target_configuration_names_the_key(string key, string value)
    {
        const string T = "StorageBridge:Targets:t:";
        var settings = new Dictionary<string, string?> { [T + "Backend"] = "Gcs", [T + "Bucket"] = "b", [T + "BaseUri"] = "http://127.0.0.1:1/storage/v1/", [T + key] = value };
        var section = StorageBridge.Tests.BridgeConfiguration.Section(settings);
        var e = Assert.Throws<StorageBridgeConfigurationException>(() => StorageBridge.Tests.BridgeConfiguration.ReadTargets(section, s => s.AddGcsBackend()));
        Assert.Equal(T + key, e.Key);
    }
}
