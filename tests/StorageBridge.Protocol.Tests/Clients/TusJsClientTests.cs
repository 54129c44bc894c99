using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using StorageBridge.Tests;

namespace StorageBridge.Protocol.Tests.Clients;

/// <summary>
/// The real tus-js-client 4.3.1 (Node, tests/clients/tus-upload.mjs) against the built Host as a process, in its IETF
/// draft modes: 'ietf-draft-03' sends Upload-Draft-Interop-Version 5, 'ietf-draft-05' sends 6 and
/// Content-Type: application/partial-upload. Every upload is checked byte for byte (sha-256) through
/// GET {upload}/content and on disk at {Root}/{id}.
/// Client behaviour the server has to live with (tus-js-client 4.3.1, lib/node/sources/FileSource.js):
/// with fs.ReadStream input ("--input stream", the default) a chunk is marked done only when it spans the
/// whole file, so a chunked upload's last PATCH and a resumed remainder carry Upload-Complete: ?0 although
/// they reach the Upload-Length declared at creation; and a 0-byte file is only a creation POST with
/// Upload-Length: 0 and Upload-Complete: ?0. Buffer input marks the last chunk ?1. The client reports
/// success in all of these cases, but the draft lets only the client complete an upload ("the offset could match the
/// length, but the upload can still be incomplete"), so those uploads stay incomplete until an empty
/// Upload-Complete: ?1 append, which this client never sends (docs/protocols.md: use its tus-v1 mode, or buffer input).
/// </summary>
public sealed class TusJsClientTests(TusJsClientFixture fixture) : IClassFixture<TusJsClientFixture>
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan TestTimeout = TimeSpan.FromMinutes(4);

    private static readonly string[] Protocols = ["ietf-draft-03", "ietf-draft-05"];

    /// <summary>Uploads whose last request carries Upload-Complete: ?1 (single-chunk stream input, or buffer input).</summary>
    public static TheoryData<string, long, long?, string> CompletingUploads()
    {
        var data = new TheoryData<string, long, long?, string>();
        foreach (var protocol in Protocols)
        {
            data.Add(protocol, 1, null, "stream");
            data.Add(protocol, 1, MiB, "stream");
            data.Add(protocol, (5 * MiB) + 3, null, "stream");
            data.Add(protocol, (5 * MiB) + 3, 8 * MiB, "stream");
            data.Add(protocol, 64 * MiB, null, "stream");
            data.Add(protocol, (5 * MiB) + 3, MiB, "buffer");
            data.Add(protocol, 64 * MiB, MiB, "buffer");
            data.Add(protocol, 64 * MiB, 8 * MiB, "buffer");
        }

        return data;
    }

    /// <summary>Uploads whose data reaches the declared length with Upload-Complete: ?0 (see the class summary): left incomplete.</summary>
    public static TheoryData<string, long, long?, string> UploadsEndingWithIncompleteFlag()
    {
        var data = new TheoryData<string, long, long?, string>();
        foreach (var protocol in Protocols)
        {
            data.Add(protocol, 0, null, "stream");
            data.Add(protocol, 0, null, "buffer");
            data.Add(protocol, (5 * MiB) + 3, MiB, "stream");
            data.Add(protocol, 64 * MiB, MiB, "stream");
            data.Add(protocol, 64 * MiB, 8 * MiB, "stream");
        }

        return data;
    }

    [Theory(Timeout = 240_000)]
    [MemberData(nameof(CompletingUploads))]
    public Task Upload_is_stored_byte_for_byte(string protocol, long size, long? chunkSize, string input) =>
        UploadAndVerifyAsync(protocol, size, chunkSize, input);

    [Theory(Timeout = 240_000)]
    [MemberData(nameof(UploadsEndingWithIncompleteFlag))]
    public async Task Upload_reaching_its_declared_length_with_Upload_Complete_0_stays_incomplete_until_the_client_completes_it(
        string protocol, long size, long? chunkSize, string input)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var source = await fixture.GetFileAsync(size);

        var run = await TusJsClient.RunAsync(
            [fixture.Endpoint.ToString(), source.Path, protocol, TusJsClient.ChunkArgument(chunkSize), "--input", input],
            cts.Token);

        Assert.True(run.ExitCode == 0, fixture.Host.Describe($"tus-upload.mjs failed: {run}"));
        var output = TusUploadOutput.Parse(run.StandardOutput);
        Assert.Equal(size, output.BytesUploaded);
        Assert.Equal(size, await HeadOffsetAsync(output.Url, protocol, cts.Token));
        using (var notYet = await fixture.Http.GetAsync(output.Url + "/content", cts.Token))
        {
            Assert.NotEqual(HttpStatusCode.OK, notYet.StatusCode);
        }

        await CompleteWithEmptyAppendAsync(output.Url, protocol, size, cts.Token);
        await AssertStoredAsync(output.Url, source, cts.Token);
    }

    [Theory(Timeout = 240_000)]
    [InlineData("ietf-draft-03", null, "buffer")]
    [InlineData("ietf-draft-05", null, "buffer")]
    [InlineData("ietf-draft-05", 8 * MiB, "buffer")]
    [InlineData("ietf-draft-03", null, "stream")]
    [InlineData("ietf-draft-05", null, "stream")]
    [InlineData("ietf-draft-05", 8 * MiB, "stream")]
    public async Task Aborted_upload_resumes_from_the_server_offset(string protocol, long? chunkSize, string input)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var source = await fixture.GetFileAsync(64 * MiB);

        var first = await TusJsClient.RunAsync(
            [fixture.Endpoint.ToString(), source.Path, protocol, TusJsClient.ChunkArgument(chunkSize), "--input", input, "--abort-after-bytes", (20 * MiB).ToString(CultureInfo.InvariantCulture)],
            cts.Token);
        Assert.True(first.ExitCode == 0, fixture.Host.Describe($"tus-upload.mjs (abort) failed: {first}"));
        var aborted = TusUploadOutput.Parse(first.StandardOutput);
        Assert.True(aborted.Aborted, $"the client finished before it could abort: {first}");
        Assert.InRange(aborted.BytesUploaded, 20 * MiB, source.Size - 1);

        // The server keeps what arrived (never more than was sent, never less than it acknowledged).
        var offset = await HeadOffsetAsync(aborted.Url, protocol, cts.Token);
        Assert.InRange(offset, aborted.BytesAcknowledged, aborted.BytesUploaded);

        var second = await TusJsClient.RunAsync(
            [fixture.Endpoint.ToString(), source.Path, protocol, TusJsClient.ChunkArgument(chunkSize), "--input", input, "--upload-url", aborted.Url],
            cts.Token);
        Assert.True(second.ExitCode == 0, fixture.Host.Describe($"tus-upload.mjs (resume) failed: {second}"));
        var resumed = TusUploadOutput.Parse(second.StandardOutput);
        Assert.Equal(aborted.Url, resumed.Url);
        Assert.Equal(source.Size, resumed.BytesUploaded);
        if (input == "stream")
        {
            // A file stream's resumed remainder is marked ?0 (see the class summary): the upload waits for completion.
            Assert.Equal(source.Size, await HeadOffsetAsync(resumed.Url, protocol, cts.Token));
            await CompleteWithEmptyAppendAsync(resumed.Url, protocol, source.Size, cts.Token);
        }

        await AssertStoredAsync(resumed.Url, source, cts.Token);
    }

    [Fact(Timeout = 240_000)]
    public async Task Range_download_of_a_tus_js_client_upload_returns_the_exact_bytes()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var source = await fixture.GetFileAsync((5 * MiB) + 3);
        var run = await TusJsClient.RunAsync([fixture.Endpoint.ToString(), source.Path, "ietf-draft-05", "none"], cts.Token);
        Assert.True(run.ExitCode == 0, fixture.Host.Describe($"tus-upload.mjs failed: {run}"));
        var url = TusUploadOutput.Parse(run.StandardOutput).Url;

        using var request = new HttpRequestMessage(HttpMethod.Get, url + "/content");
        request.Headers.Range = new RangeHeaderValue(5 * MiB - 2, 5 * MiB + 2);
        using var response = await fixture.Http.SendAsync(request, cts.Token);
        Assert.True(response.StatusCode == HttpStatusCode.PartialContent, fixture.Host.Describe($"GET {url}/content with Range: {(int)response.StatusCode}"));
        var bytes = await response.Content.ReadAsByteArrayAsync(cts.Token);

        var expected = new byte[5];
        DeterministicData.Fill(TusJsClientFixture.SeedFor(source.Size), 5 * MiB - 2, expected);
        Assert.Equal(expected, bytes);
        Assert.Equal($"bytes {5 * MiB - 2}-{5 * MiB + 2}/{source.Size}", response.Content.Headers.ContentRange?.ToString());
    }

    private async Task UploadAndVerifyAsync(string protocol, long size, long? chunkSize, string input)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var source = await fixture.GetFileAsync(size);

        var run = await TusJsClient.RunAsync(
            [fixture.Endpoint.ToString(), source.Path, protocol, TusJsClient.ChunkArgument(chunkSize), "--input", input],
            cts.Token);

        Assert.True(run.ExitCode == 0, fixture.Host.Describe($"tus-upload.mjs failed: {run}"));
        var output = TusUploadOutput.Parse(run.StandardOutput);
        Assert.Equal(size, output.BytesUploaded);
        Assert.False(output.Aborted);
        await AssertStoredAsync(output.Url, source, cts.Token);
    }

    private async Task AssertStoredAsync(string url, SourceFile source, CancellationToken cancellationToken)
    {
        Assert.StartsWith(fixture.Endpoint + "/", url, StringComparison.Ordinal);
        var id = new Uri(url).Segments[^1];

        using (var response = await fixture.Http.GetAsync(url + "/content", HttpCompletionOption.ResponseHeadersRead, cancellationToken))
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, fixture.Host.Describe($"GET {url}/content: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}"));
            Assert.Equal(source.Size, response.Content.Headers.ContentLength);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var downloaded = Convert.ToHexStringLower(await SHA256.HashDataAsync(body, cancellationToken));
            Assert.Equal(source.Sha256, downloaded);
        }

        var stored = Path.Combine(fixture.Host.TargetRoot, id);
        Assert.True(File.Exists(stored), fixture.Host.Describe($"no stored object at {stored}"));
        Assert.Equal(source.Size, new FileInfo(stored).Length);
        Assert.Equal(source.Sha256, await DeterministicData.Sha256FileAsync(stored, cancellationToken));
    }

    /// <summary>What a draft client does to finish an upload whose bytes are all there: an empty Upload-Complete: ?1 append.</summary>
    private async Task CompleteWithEmptyAppendAsync(string url, string protocol, long offset, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, url) { Content = new ByteArrayContent([]) };
        request.Headers.Add("Upload-Draft-Interop-Version", protocol == "ietf-draft-03" ? "5" : "6");
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", "?1");
        if (protocol != "ietf-draft-03")
        {
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        }

        using var response = await fixture.Http.SendAsync(request, cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, fixture.Host.Describe($"completing PATCH {url}: {(int)response.StatusCode}"));
        Assert.Equal("?1", Assert.Single(response.Headers.GetValues("Upload-Complete")));
    }

    private async Task<long> HeadOffsetAsync(string url, string protocol, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, url);
        request.Headers.Add("Upload-Draft-Interop-Version", protocol == "ietf-draft-03" ? "5" : "6");
        using var response = await fixture.Http.SendAsync(request, cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.NoContent, fixture.Host.Describe($"HEAD {url}: {(int)response.StatusCode}"));
        Assert.Equal("?0", Assert.Single(response.Headers.GetValues("Upload-Complete")));
        return long.Parse(Assert.Single(response.Headers.GetValues("Upload-Offset")), NumberStyles.None, CultureInfo.InvariantCulture);
    }
}
