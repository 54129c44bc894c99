using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using StorageBridge.Protocol.Tests.Clients;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Protocol.Tests.Browser;

/// <summary>
/// The Host's upload page in headless Debian Chromium (playwright-core): a 20 MiB file per protocol, uploads throttled
/// by Chromium's network emulation so that the cut lands mid-upload; the cut is a SIGKILL and restart of the Host on the
/// same port with the browser offline meanwhile; the page must resume the same upload and the object's sha-256 must
/// equal the source. The tests of this class share one Host and run one after another.
/// </summary>
public sealed class UploadPageTests(TusJsClientFixture fixture, ITestOutputHelper output) : IClassFixture<TusJsClientFixture>
{
    private const long MiB = 1024 * 1024;
    private const long Size = 20 * MiB;
    private const long UploadBytesPerSecond = 3 * MiB;
    private const long CutAfterBytes = Size * 3 / 10;
    private const int TestTimeoutMs = 90_000;
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(45);

    /// <summary>Screenshots of the page, kept after the run: {test output folder}/TestResults/screenshots.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Host_serves_the_page_without_shadowing_the_upload_urls()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var path in new[] { "/", "/upload.html" })
        {
            using var page = await fixture.Http.GetAsync(new Uri(fixture.Host.BaseAddress, path), cts.Token);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<script defer src=\"upload.js\"></script>", await page.Content.ReadAsStringAsync(cts.Token), StringComparison.Ordinal);
        }

        using var script = await fixture.Http.GetAsync(new Uri(fixture.Host.BaseAddress, "upload.js"), cts.Token);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", script.Headers.CacheControl?.ToString());

        using var targets = await fixture.Http.GetAsync(new Uri(fixture.Host.BaseAddress, "upload-page/targets"), cts.Token);
        Assert.Equal("application/json", targets.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
            """[{"name":"default","maxSize":null,"maxAppendSize":null,"minAppendSize":null},{"name":"limited","maxSize":null,"maxAppendSize":1048576,"minAppendSize":null}]""",
            await targets.Content.ReadAsStringAsync(cts.Token));

        using var health = await fixture.Http.GetAsync(new Uri(fixture.Host.BaseAddress, "healthz"), cts.Token);
        Assert.Equal("ok", await health.Content.ReadAsStringAsync(cts.Token));

        using var unknownUpload = await fixture.Http.GetAsync(new Uri(fixture.Endpoint + "/0123456789abcdef0123456789abcdef"), cts.Token);
        Assert.Equal(HttpStatusCode.NotFound, unknownUpload.StatusCode);
        using var unknownFile = await fixture.Http.GetAsync(new Uri(fixture.Host.BaseAddress, "appsettings.json"), cts.Token);
        Assert.Equal(HttpStatusCode.NotFound, unknownFile.StatusCode);
    }

    [Theory(Timeout = TestTimeoutMs)]
    [InlineData("tus", 5 * MiB)]
    [InlineData("ietf", MiB)]
    public async Task Upload_survives_a_Host_restart_mid_upload(string protocol, long chunkSize)
    {
        var run = await UploadAcrossAHostRestartAsync(protocol, chunkSize, async (beforeCut, _, cancellationToken) =>
        {
            Assert.NotNull(beforeCut.UploadUrl);
            return (await OffsetAsync(protocol, beforeCut.UploadUrl, cancellationToken), Size);
        });

        Assert.Equal(run.BeforeCut.UploadUrl, run.Done.Location); // the same upload resumed, not a new one
        Assert.Single(run.Requests, r => r == "POST /uploads/default");
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Resumable_js_upload_with_three_simultaneous_chunks_survives_a_Host_restart()
    {
        const long chunkSize = 512 * 1024;
        const int totalChunks = (int)(Size / chunkSize);
        var run = await UploadAcrossAHostRestartAsync("resumable", chunkSize, async (_, sentBeforeCut, cancellationToken) =>
        {
            var firstTest = sentBeforeCut.First(r => r.StartsWith("GET /uploads/default?", StringComparison.Ordinal));
            Assert.Contains("resumableTotalChunks=" + totalChunks.ToString(CultureInfo.InvariantCulture), firstTest, StringComparison.Ordinal);
            return (await CountStoredChunksAsync(firstTest, totalChunks, cancellationToken), totalChunks);
        });

        // Three chunk POSTs at a time: several had been sent before the cut, and every chunk was tested first.
        var posts = run.Requests.Count(r => r.StartsWith("POST /uploads/default?", StringComparison.Ordinal));
        Assert.True(posts >= totalChunks, string.Join('\n', run.Requests));
        Assert.True(run.Requests.Count(r => r.StartsWith("GET /uploads/default?", StringComparison.Ordinal)) >= totalChunks, string.Join('\n', run.Requests));
    }

    [Theory(Timeout = TestTimeoutMs)]
    [InlineData("tus", MiB)]
    [InlineData("ietf", MiB)]
    public async Task Upload_resumes_after_a_page_reload_from_the_fingerprint_in_localStorage(string protocol, long chunkSize)
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs - 5_000);
        var name = $"{protocol}-reload.bin";
        var (browser, source, beforeReload) = await StartThrottledUploadAsync(protocol, chunkSize, name, cts.Token);
        await using var _ = browser;
        Assert.NotNull(beforeReload.UploadUrl);
        await browser.ReloadAsync(cts.Token);
        var offset = await OffsetAsync(protocol, beforeReload.UploadUrl, cts.Token);
        output.WriteLine($"{protocol}: page had sent {beforeReload.Bytes} bytes before the reload, the Host holds {offset} of {Size}");
        Assert.InRange(offset, 1, Size - 1);
        var storage = await browser.LocalStorageAsync(cts.Token);
        Assert.Contains(storage, e => e.Key.StartsWith("tus::", StringComparison.Ordinal) && e.Value.Contains(beforeReload.UploadUrl, StringComparison.Ordinal));

        await browser.TakeRequestsAsync(cts.Token);
        await browser.SetNetworkAsync(uploadBytesPerSecond: null, offline: false, cts.Token);
        await browser.AddFilesAsync([source.Path], cts.Token); // a reloaded page cannot keep the File: the user adds it again
        var done = await browser.WaitForStateAsync(name, "done", WaitTimeout, cts.Token);
        Assert.Equal(beforeReload.UploadUrl, done.Location);

        // No new creation: the page asked for the offset of the stored URL and appended from there.
        var afterReload = await browser.TakeRequestsAsync(cts.Token);
        var uploadPath = new Uri(beforeReload.UploadUrl).AbsolutePath;
        Assert.DoesNotContain("POST /uploads/default", afterReload);
        Assert.Equal("HEAD " + uploadPath, afterReload[0]);
        await AssertStoredAsync(done.Location!, source, cts.Token);
        Assert.DoesNotContain((await browser.LocalStorageAsync(cts.Token)).Values, v => v.Contains(beforeReload.UploadUrl, StringComparison.Ordinal));
    }

    [Theory(Timeout = TestTimeoutMs)]
    [InlineData("tus", MiB)]
    [InlineData("ietf", MiB)]
    public async Task Pause_stops_the_upload_and_resume_finishes_it(string protocol, long chunkSize)
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs - 5_000);
        var name = $"{protocol}-pause.bin";
        var (browser, source, beforePause) = await StartThrottledUploadAsync(protocol, chunkSize, name, cts.Token);
        await using var _ = browser;
        Assert.NotNull(beforePause.UploadUrl);
        await browser.ClickPauseAsync(name, cts.Token);
        Assert.Equal("paused", (await browser.RowAsync(name, cts.Token)).State);

        // Nothing moves while paused.
        await Task.Delay(TimeSpan.FromMilliseconds(500), cts.Token);
        var paused = await OffsetAsync(protocol, beforePause.UploadUrl, cts.Token);
        await Task.Delay(TimeSpan.FromMilliseconds(700), cts.Token);
        Assert.Equal(paused, await OffsetAsync(protocol, beforePause.UploadUrl, cts.Token));
        Assert.InRange(paused, 1, Size - 1);

        await browser.SetNetworkAsync(uploadBytesPerSecond: null, offline: false, cts.Token);
        await browser.ClickPauseAsync(name, cts.Token); // the same button reads "Resume" now
        var done = await browser.WaitForStateAsync(name, "done", WaitTimeout, cts.Token);
        Assert.Equal(beforePause.UploadUrl, done.Location);
        await AssertStoredAsync(done.Location!, source, cts.Token);
    }

    [Theory(Timeout = TestTimeoutMs)]
    [InlineData("tus")]
    [InlineData("ietf")]
    public async Task Several_dropped_files_each_get_a_row_and_chunks_that_fit_the_target(string protocol)
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs - 5_000);
        // An empty file too: tus-js-client's IETF mode stops after creating it, so the page completes it itself.
        long[] sizes = [0, 1, MiB + 3, (3 * MiB) + 5];
        var sources = new List<SourceFile>();
        foreach (var size in sizes)
        {
            sources.Add(await fixture.GetFileAsync(string.Create(CultureInfo.InvariantCulture, $"{protocol}-drop-{size}.bin"), size, SeedFor($"drop-{size}")));
        }

        await using var browser = await BrowserDriver.LaunchAsync(output.WriteLine, cts.Token);
        // 5 MiB chosen, but the target takes at most 1 MiB per request: the page must cut its chunks to 1 MiB.
        await browser.OpenAsync(PageUrl(protocol, "limited", 5 * MiB), cts.Token);
        await browser.DropFilesAsync(sources.Select(s => s.Path), cts.Token);

        var locations = new List<string>();
        foreach (var source in sources)
        {
            var done = await browser.WaitForStateAsync(Path.GetFileName(source.Path), "done", WaitTimeout, cts.Token);
            Assert.NotNull(done.Location);
            Assert.StartsWith(new Uri(fixture.Host.BaseAddress, "uploads/limited/").ToString(), done.Location, StringComparison.Ordinal);
            Assert.DoesNotContain(done.Location, locations);
            locations.Add(done.Location);
            await AssertStoredAsync(done.Location, source, cts.Token);
        }

        await browser.ScreenshotAsync(Path.Combine(ScreenshotDirectory, $"{protocol}-dropped-files.png"), cts.Token);
        var requests = await browser.TakeRequestsAsync(cts.Token);
        Assert.Equal(sizes.Length, requests.Count(r => r == "POST /uploads/limited"));
        Assert.Equal(4, requests.Count(r => r == "PATCH " + new Uri(locations[^1]).AbsolutePath)); // 3 MiB + 5 B in requests of at most 1 MiB
    }

    /// <summary>
    /// Starts a throttled upload, cuts it (<see cref="CutAsync"/>) once the page reports
    /// <see cref="CutAfterBytes"/> sent, asserts that the restarted Host kept part but not all of it (what
    /// <paramref name="keptAfterRestart"/> reads: bytes, chunks...), waits for the page to finish and checks the object.
    /// </summary>
    private async Task<RestartRun> UploadAcrossAHostRestartAsync(
        string protocol,
        long chunkSize,
        Func<PageRow, IReadOnlyList<string>, CancellationToken, Task<(long Kept, long Whole)>> keptAfterRestart)
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs - 5_000);
        var name = $"{protocol}-restart.bin";
        var (browser, source, beforeCut) = await StartThrottledUploadAsync(protocol, chunkSize, name, cts.Token);
        await using var _ = browser;
        var sentBeforeCut = await browser.TakeRequestsAsync(cts.Token);
        var (kept, whole) = await CutAsync(
            browser, Path.Combine(ScreenshotDirectory, $"{protocol}-cut.png"), () => keptAfterRestart(beforeCut, sentBeforeCut, cts.Token), cts.Token);
        output.WriteLine($"{protocol}: the page had sent {beforeCut.Bytes} of {Size} bytes; the restarted Host holds {kept} of {whole}");
        Assert.InRange(kept, 1, whole - 1);

        var done = await browser.WaitForStateAsync(name, "done", WaitTimeout, cts.Token);
        await browser.ScreenshotAsync(Path.Combine(ScreenshotDirectory, $"{protocol}-done.png"), cts.Token);
        Assert.NotNull(done.Location);
        await AssertStoredAsync(done.Location, source, cts.Token);
        return new RestartRun(beforeCut, done, [.. sentBeforeCut, .. await browser.TakeRequestsAsync(cts.Token)]);
    }

    /// <summary>
    /// A fresh Chromium on the page (settings from the query string), uploads throttled, one file added; returns once the
    /// page reports <see cref="CutAfterBytes"/> sent.
    /// </summary>
    private async Task<(BrowserDriver Browser, SourceFile Source, PageRow Row)> StartThrottledUploadAsync(
        string protocol, long chunkSize, string name, CancellationToken cancellationToken)
    {
        var source = await fixture.GetFileAsync(name, Size, SeedFor(name));
        var browser = await BrowserDriver.LaunchAsync(output.WriteLine, cancellationToken);
        try
        {
            await browser.OpenAsync(PageUrl(protocol, "default", chunkSize), cancellationToken);
            await browser.SetNetworkAsync(UploadBytesPerSecond, offline: false, cancellationToken);
            await browser.AddFilesAsync([source.Path], cancellationToken);
            return (browser, source, await browser.WaitForBytesAsync(name, CutAfterBytes, WaitTimeout, cancellationToken));
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Distinct bytes per test file: FNV-1a of a name (string.GetHashCode differs between runs).</summary>
    private static ulong SeedFor(string name) => name.Aggregate(0xCBF2_9CE4_8422_2325UL, (hash, c) => (hash ^ c) * 0x100_0000_01B3UL);

    /// <summary>The page with its settings preselected through the query string.</summary>
    private Uri PageUrl(string protocol, string target, long chunkSize) =>
        new(fixture.Host.BaseAddress, string.Create(CultureInfo.InvariantCulture, $"?protocol={protocol}&target={target}&chunkSize={chunkSize}"));

    /// <summary>
    /// SIGKILLs the Host in the middle of a request (first, because Chromium lets a running request finish when it goes
    /// offline), takes the browser offline and screenshots the page, restarts the Host on the same port and data, reads
    /// what it kept while the page cannot interfere, then brings the browser back online, unthrottled.
    /// </summary>
    private async Task<T> CutAsync<T>(BrowserDriver browser, string screenshot, Func<Task<T>> inspect, CancellationToken cancellationToken)
    {
        fixture.Host.Kill();
        await browser.SetNetworkAsync(UploadBytesPerSecond, offline: true, cancellationToken);
        await browser.ScreenshotAsync(screenshot, cancellationToken);
        await fixture.Host.RestartAsync(cancellationToken);
        var kept = await inspect();
        await browser.SetNetworkAsync(uploadBytesPerSecond: null, offline: false, cancellationToken);
        return kept;
    }

    private async Task<long> OffsetAsync(string protocol, string uploadUrl, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, uploadUrl);
        if (protocol == "tus")
        {
            request.Headers.Add("Tus-Resumable", "1.0.0");
        }
        else
        {
            request.Headers.Add("Upload-Draft-Interop-Version", "6");
        }

        using var response = await fixture.Http.SendAsync(request, cancellationToken);
        Assert.True(response.IsSuccessStatusCode, fixture.Host.Describe($"HEAD {uploadUrl}: {(int)response.StatusCode}"));
        return long.Parse(response.Headers.GetValues("Upload-Offset").Single(), CultureInfo.InvariantCulture);
    }

    /// <summary>Asks the Host, with the page's own test GET for each chunk number, how many chunks it holds (200 each).</summary>
    private async Task<int> CountStoredChunksAsync(string pageTestRequest, int totalChunks, CancellationToken cancellationToken)
    {
        var query = System.Web.HttpUtility.ParseQueryString(new Uri(fixture.Host.BaseAddress, pageTestRequest["GET ".Length..]).Query);
        var stored = 0;
        for (var chunk = 1; chunk <= totalChunks; chunk++)
        {
            query["resumableChunkNumber"] = chunk.ToString(CultureInfo.InvariantCulture);
            using var response = await fixture.Http.GetAsync(new Uri(fixture.Endpoint + "?" + query), cancellationToken);
            Assert.True(
                response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NoContent,
                fixture.Host.Describe($"test GET of chunk {chunk}: {(int)response.StatusCode}"));
            stored += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        return stored;
    }

    private async Task AssertStoredAsync(string location, SourceFile source, CancellationToken cancellationToken)
    {
        var url = new Uri(fixture.Host.BaseAddress, location);
        using var response = await fixture.Http.GetAsync(new Uri(url + "/content"), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, fixture.Host.Describe($"GET {url}/content: {(int)response.StatusCode}"));
        Assert.Equal(source.Size, response.Content.Headers.ContentLength);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        Assert.Equal(source.Sha256, Convert.ToHexStringLower(await SHA256.HashDataAsync(body, cancellationToken)));
    }

    private sealed record RestartRun(PageRow BeforeCut, PageRow Done, IReadOnlyList<string> Requests);
}
