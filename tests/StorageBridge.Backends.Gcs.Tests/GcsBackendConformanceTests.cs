using System.Net;
using System.Security.Cryptography;
using StorageBridge.Backends;
using StorageBridge.Tests.Conformance;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>The backend conformance suite on the GCS emulator; objects are checked with the official client.</summary>
public sealed class GcsBackendConformanceTests(GcsEmulatorHost emulator) : BackendConformanceTests, IClassFixture<GcsEmulatorHost>
{
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(30) };

    // The smallest legal part keeps the suite fast: 256 KiB chunks.
    protected override IUploadBackend CreateBackend() =>
        new GcsBackend(emulator.NewClient(), new GcsBackendOptions { Bucket = emulator.Bucket, PartSize = GcsBackend.ChunkGranularity }, ownsClient: true);

    /// <summary>Reads with the official client (not the backend) and checks GCS's md5Hash/crc32c against the bytes.</summary>
    protected override async Task<byte[]> ReadObjectAsync(string objectKey)
    {
        var buffer = new MemoryStream();
        await emulator.Client.DownloadObjectAsync(emulator.Bucket, objectKey, buffer, cancellationToken: Ct);
        byte[] content = buffer.ToArray();
        var stored = await emulator.Client.GetObjectAsync(emulator.Bucket, objectKey, cancellationToken: Ct);
        Assert.Equal(Convert.ToBase64String(MD5.HashData(content)), stored.Md5Hash);
        Assert.Equal((ulong)content.Length, stored.Size);
        return content;
    }

    /// <summary>After abort the session answers 404 and no tail object of the upload is left.</summary>
    protected override async Task AssertNothingStagedAsync(BackendUpload upload)
    {
        if (upload.Session is { } session)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = new ByteArrayContent([]) };
            request.Content.Headers.TryAddWithoutValidation("Content-Range", "bytes */*");
            using HttpResponseMessage response = await http.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.Empty(emulator.Client.ListObjects(emulator.Bucket, $".staging/{upload.Id}/"));
    }

    // A session keeps every byte it confirmed; re-sent bytes are ignored, never rewritten.
    protected override bool ReplacesUnrecordedParts => false;

    public override async Task DisposeAsync()
    {
        http.Dispose();
        await base.DisposeAsync();
    }
}
