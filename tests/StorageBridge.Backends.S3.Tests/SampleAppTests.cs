using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// samples/StorageBridge.Sample (the bridge embedded with code-only configuration, its IAmazonS3 from DI) runs as its
/// own process against the S3 emulator, configured through environment variables; an IETF upload in several PATCHes
/// must land in the bucket byte-exact.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class SampleAppTests(S3Endpoint endpoint, ITestOutputHelper output) : IDisposable
{
    private const int MiB = 1024 * 1024;

    private readonly CancellationTokenSource timeout = new(TimeSpan.FromMinutes(3));

    private CancellationToken Ct => timeout.Token;

    public void Dispose() => timeout.Dispose();

    [Fact]
    public async Task The_sample_app_uploads_to_S3_byte_exact()
    {
        var prefix = endpoint.RunPrefix + "sample/";
        await using var sample = await HostProcess.StartAsync(
            new HostProcessOptions
            {
                HostDllPath = Path.Combine(AppContext.BaseDirectory, "StorageBridge.Sample.dll"),
                Environment = new Dictionary<string, string?>
                {
                    ["S3__ServiceUrl"] = endpoint.ServiceUrl,
                    ["S3__Region"] = endpoint.Region,
                    ["S3__Bucket"] = endpoint.Bucket,
                    ["S3__Prefix"] = prefix,
                    ["AWS_ACCESS_KEY_ID"] = endpoint.AccessKey,
                    ["AWS_SECRET_ACCESS_KEY"] = endpoint.SecretKey,
                },
                OutputSink = output.WriteLine,
            },
            Ct);
        using var client = new HttpClient { BaseAddress = sample.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var source = new byte[(10 * MiB) + 4321];
        new Random(42).NextBytes(source);

        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/media") { Content = new ByteArrayContent(source, 0, 3 * MiB) };
        create.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", source.Length.ToString(CultureInfo.InvariantCulture));
        using var created = await client.SendAsync(create, Ct);
        Assert.True(created.StatusCode == HttpStatusCode.Created, sample.Describe($"create answered {(int)created.StatusCode}"));
        var location = created.Headers.Location!;

        for (var offset = 3 * MiB; offset < source.Length; offset += 4 * MiB)
        {
            var count = Math.Min(4 * MiB, source.Length - offset);
            var last = offset + count == source.Length;
            using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(source, offset, count) };
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
            patch.Headers.Add("Upload-Draft-Interop-Version", "8");
            patch.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
            patch.Headers.Add("Upload-Complete", last ? "?1" : "?0");
            using var response = await client.SendAsync(patch, Ct);
            Assert.Equal(last ? HttpStatusCode.OK : HttpStatusCode.NoContent, response.StatusCode);
        }

        var key = prefix + location.OriginalString.TrimEnd('/').Split('/')[^1];
        using var inspector = endpoint.CreateClient();
        using (var stored = await inspector.GetObjectAsync(endpoint.Bucket, key, Ct))
        {
            Assert.Equal(
                Convert.ToHexStringLower(SHA256.HashData(source)),
                Convert.ToHexStringLower(await SHA256.HashDataAsync(stored.ResponseStream, Ct)));
        }

        await inspector.DeleteObjectAsync(endpoint.Bucket, key, Ct);
    }
}
