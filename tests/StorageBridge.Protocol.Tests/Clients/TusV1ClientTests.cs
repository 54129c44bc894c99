using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using StorageBridge.Tests;

namespace StorageBridge.Protocol.Tests.Clients;

/// <summary>
/// The real tus-js-client 4.3.1 in its default 'tus-v1' mode (Tus-Resumable: 1.0.0) against the built Host:
/// creation, creation-with-upload, creation-defer-length, termination, resume after abort and parallelUploads
/// (concatenation). Every stored object is checked by sha-256 through the download URL and on disk.
/// </summary>
public sealed class TusV1ClientTests(TusJsClientFixture fixture) : IClassFixture<TusJsClientFixture>
{
    private const long MiB = 1024 * 1024;
    private const string Protocol = "tus-v1";
    private static readonly TimeSpan TestTimeout = TimeSpan.FromMinutes(4);

    [Theory(Timeout = 240_000)]
    [InlineData(0, null, "buffer")]
    [InlineData((5 * MiB) + 3, null, "stream")]
    [InlineData((5 * MiB) + 3, MiB, "stream")]
    [InlineData((5 * MiB) + 3, MiB, "buffer")]
    public Task Creation_then_patches_store_the_file(long size, long? chunkSize, string input) =>
        UploadAndVerifyAsync(size, chunkSize, input);

    [Fact(Timeout = 240_000)]
    public Task Creation_with_upload_stores_the_file() =>
        UploadAndVerifyAsync((3 * MiB) + 1, MiB, "buffer", "--data-during-creation", "1");

    [Fact(Timeout = 240_000)]
    public Task Deferred_length_is_declared_by_the_last_patch() =>
        UploadAndVerifyAsync((3 * MiB) + 5, MiB, "buffer", "--defer-length", "1");

    [Fact(Timeout = 240_000)]
    public Task Parallel_uploads_are_joined_by_concatenation() =>
        UploadAndVerifyAsync((5 * MiB) + 3, null, "buffer", "--parallel-uploads", "3");

    [Fact(Timeout = 240_000)]
    public async Task Abort_with_termination_deletes_the_upload()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var source = await fixture.GetFileAsync(8 * MiB);
        var run = await TusJsClient.RunAsync(
            [fixture.Endpoint.ToString(), source.Path, Protocol, TusJsClient.ChunkArgument(MiB), "--input", "buffer",
             "--abort-after-bytes", (2 * MiB).ToString(CultureInfo.InvariantCulture), "--terminate", "1"],
            cts.Token);
        Assert.True(run.ExitCode == 0, fixture.Host.Describe($"tus-upload.mjs (terminate) failed: {run}"));
        var output = TusUploadOutput.Parse(run.StandardOutput);
        Assert.True(output.Aborted);

        using var head = await HeadAsync(output.Url, cts.Token);
        Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        Assert.False(head.Headers.Contains("Upload-Offset"));
        Assert.False(File.Exists(Path.Combine(fixture.Host.TargetRoot, ".staging", new Uri(output.Url).Segments[^1])));
    }

    [Theory(Timeout = 240_000)]
    [InlineData(MiB, "stream")]
    [InlineData(4 * MiB, "buffer")]
    public async Task Aborted_upload_resumes_from_the_server_offset(long? chunkSize, string input)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var source = await fixture.GetFileAsync(24 * MiB);
        var first = await TusJsClient.RunAsync(
            [fixture.Endpoint.ToString(), source.Path, Protocol, TusJsClient.ChunkArgument(chunkSize), "--input", input,
             "--abort-after-bytes", (6 * MiB).ToString(CultureInfo.InvariantCulture)],
            cts.Token);
        Assert.True(first.ExitCode == 0, fixture.Host.Describe($"tus-upload.mjs (abort) failed: {first}"));
        var aborted = TusUploadOutput.Parse(first.StandardOutput);
        Assert.True(aborted.Aborted, $"the client finished before it could abort: {first}");

        using (var head = await HeadAsync(aborted.Url, cts.Token))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            var offset = long.Parse(Assert.Single(head.Headers.GetValues("Upload-Offset")), CultureInfo.InvariantCulture);
            Assert.InRange(offset, aborted.BytesAcknowledged, aborted.BytesUploaded);
            Assert.InRange(offset, 0, source.Size - 1);
        }

        var second = await TusJsClient.RunAsync(
            [fixture.Endpoint.ToString(), source.Path, Protocol, TusJsClient.ChunkArgument(chunkSize), "--input", input, "--upload-url", aborted.Url],
            cts.Token);
        Assert.True(second.ExitCode == 0, fixture.Host.Describe($"tus-upload.mjs (resume) failed: {second}"));
        var resumed = TusUploadOutput.Parse(second.StandardOutput);
        Assert.Equal(aborted.Url, resumed.Url);
        await AssertStoredAsync(resumed.Url, source, cts.Token);
    }

    private async Task UploadAndVerifyAsync(long size, long? chunkSize, string input, params string[] extra)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var source = await fixture.GetFileAsync(size);
        var run = await TusJsClient.RunAsync(
            [fixture.Endpoint.ToString(), source.Path, Protocol, TusJsClient.ChunkArgument(chunkSize), "--input", input, .. extra],
            cts.Token);
        Assert.True(run.ExitCode == 0, fixture.Host.Describe($"tus-upload.mjs failed: {run}"));
        var output = TusUploadOutput.Parse(run.StandardOutput);
        Assert.Equal(size, output.BytesUploaded);
        await AssertStoredAsync(output.Url, source, cts.Token);

        using var head = await HeadAsync(output.Url, cts.Token);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(size.ToString(CultureInfo.InvariantCulture), Assert.Single(head.Headers.GetValues("Upload-Offset")));
        Assert.Equal("1.0.0", Assert.Single(head.Headers.GetValues("Tus-Resumable")));
    }

    private async Task<HttpResponseMessage> HeadAsync(string url, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, url);
        request.Headers.Add("Tus-Resumable", "1.0.0");
        return await fixture.Http.SendAsync(request, cancellationToken);
    }

    private async Task AssertStoredAsync(string url, SourceFile source, CancellationToken cancellationToken)
    {
        Assert.StartsWith(fixture.Endpoint + "/", url, StringComparison.Ordinal);
        using (var response = await fixture.Http.GetAsync(url + "/content", HttpCompletionOption.ResponseHeadersRead, cancellationToken))
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, fixture.Host.Describe($"GET {url}/content: {(int)response.StatusCode}"));
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            Assert.Equal(source.Sha256, Convert.ToHexStringLower(await SHA256.HashDataAsync(body, cancellationToken)));
        }

        var stored = Path.Combine(fixture.Host.TargetRoot, new Uri(url).Segments[^1]);
        Assert.True(File.Exists(stored), fixture.Host.Describe($"no stored object at {stored}"));
        Assert.Equal(source.Sha256, await DeterministicData.Sha256FileAsync(stored, cancellationToken));
    }
}
