using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Protocol.Tests.Crash;

/// <summary>
/// The Host as an OS process is killed with SIGKILL (no graceful shutdown) during an IETF draft upload
/// (interop 8) and restarted on the same data directory: the upload must resume from the offset HEAD
/// reports and complete byte for byte.
/// </summary>
public sealed class CrashRecoveryTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;
    private const long Size = 64 * MiB;
    private const long AppendSize = 4 * MiB;
    private const ulong Seed = 0xC4A5_0000UL;
    private static readonly TimeSpan TestTimeout = TimeSpan.FromMinutes(4);

    [Fact(Timeout = 240_000)]
    public async Task Kill_during_a_PATCH_body_then_restart_resumes_from_a_consistent_offset()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { LogLevel = "Information", OutputSink = output.WriteLine }, cts.Token);

        Uri upload;
        long acknowledged;
        long sentInFlight;
        using (var client = CreateClient(host))
        {
            upload = await CreateAsync(client, host, cts.Token);

            // First half in acknowledged 4 MiB appends.
            acknowledged = 0;
            while (acknowledged < Size / 2)
            {
                acknowledged = await AppendAsync(client, host, upload, acknowledged, AppendSize, cts.Token);
            }

            Assert.Equal(Size / 2, acknowledged);

            // The next PATCH announces 4 MiB, sends 2 MiB + 12345 bytes, then stalls; the host is killed under it.
            var stalling = new StallingContent(Seed, acknowledged, AppendSize, stallAfter: (2 * MiB) + 12345);
            using var request = AppendRequest(upload, acknowledged, last: false, stalling);
            using var inFlight = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            var send = client.SendAsync(request, inFlight.Token);
            await stalling.Stalled.Task.WaitAsync(cts.Token);
            await Task.Delay(TimeSpan.FromMilliseconds(500), cts.Token); // let the host take in what arrived
            sentInFlight = stalling.BytesWritten;

            host.Kill();
            await inFlight.CancelAsync();
            var failure = await Record.ExceptionAsync(() => send);
            Assert.True(failure is HttpRequestException or OperationCanceledException, $"the interrupted PATCH must fail, got {failure?.GetType().Name ?? "a response"}");
        }

        await host.RestartAsync(cts.Token);

        using (var client = CreateClient(host))
        {
            var (offset, complete, length) = await HeadAsync(client, host, upload, cts.Token);
            output.WriteLine($"after restart: offset {offset}, acknowledged {acknowledged}, sent {acknowledged + sentInFlight}");
            Assert.Equal("?0", complete);
            Assert.Equal(Size, length);
            Assert.InRange(offset, acknowledged, acknowledged + sentInFlight);

            await CompleteFromAsync(client, host, upload, offset, cts.Token);
            await AssertStoredAsync(client, host, upload, cts.Token);
        }
    }

    [Fact(Timeout = 240_000)]
    public async Task Kill_between_PATCHes_then_restart_reports_exactly_the_acknowledged_offset()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { LogLevel = "Information", OutputSink = output.WriteLine }, cts.Token);

        Uri upload;
        long acknowledged = 0;
        using (var client = CreateClient(host))
        {
            upload = await CreateAsync(client, host, cts.Token);

            // 3 x 4 MiB + 1 odd-sized append: the acknowledged offset is not part-aligned.
            for (var i = 0; i < 3; i++)
            {
                acknowledged = await AppendAsync(client, host, upload, acknowledged, AppendSize, cts.Token);
            }

            acknowledged = await AppendAsync(client, host, upload, acknowledged, 777_777, cts.Token);
            Assert.Equal((3 * AppendSize) + 777_777, acknowledged);
        }

        host.Kill();
        await host.RestartAsync(cts.Token);

        using (var client = CreateClient(host))
        {
            var (offset, complete, length) = await HeadAsync(client, host, upload, cts.Token);
            Assert.Equal(acknowledged, offset);
            Assert.Equal("?0", complete);
            Assert.Equal(Size, length);

            await CompleteFromAsync(client, host, upload, offset, cts.Token);
            await AssertStoredAsync(client, host, upload, cts.Token);
        }
    }

    private static HttpClient CreateClient(HostProcess host) =>
        new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = host.BaseAddress,
            Timeout = TimeSpan.FromMinutes(2),
        };

    private static async Task<Uri> CreateAsync(HttpClient client, HostProcess host, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent([]) };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Complete", "?0");
        request.Headers.Add("Upload-Length", Size.ToString(CultureInfo.InvariantCulture));
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Created, host.Describe($"POST /uploads/default: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}"));
        var location = response.Headers.Location;
        Assert.NotNull(location);
        Assert.StartsWith("/uploads/default/", location.IsAbsoluteUri ? location.AbsolutePath : location.OriginalString, StringComparison.Ordinal);
        return new Uri(host.BaseAddress, location);
    }

    private static HttpRequestMessage AppendRequest(Uri upload, long offset, bool last, HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = content };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", last ? "?1" : "?0");
        content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        return request;
    }

    /// <summary>Appends bytes [offset, offset + length) of the source; asserts 204 (200 for the completing append) and the new offset.</summary>
    private static async Task<long> AppendAsync(HttpClient client, HostProcess host, Uri upload, long offset, long length, CancellationToken cancellationToken)
    {
        length = Math.Min(length, Size - offset);
        var last = offset + length == Size;
        var body = new byte[length];
        DeterministicData.Fill(Seed, offset, body);
        using var request = AppendRequest(upload, offset, last, new ByteArrayContent(body));
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.True(
            response.StatusCode == (last ? HttpStatusCode.OK : HttpStatusCode.NoContent),
            host.Describe($"PATCH {upload} at {offset} (+{length}, last={last}): {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}"));
        Assert.Equal((offset + length).ToString(CultureInfo.InvariantCulture), Assert.Single(response.Headers.GetValues("Upload-Offset")));
        Assert.Equal(last ? "?1" : "?0", Assert.Single(response.Headers.GetValues("Upload-Complete")));
        return offset + length;
    }

    private static async Task CompleteFromAsync(HttpClient client, HostProcess host, Uri upload, long offset, CancellationToken cancellationToken)
    {
        while (offset < Size)
        {
            offset = await AppendAsync(client, host, upload, offset, AppendSize, cancellationToken);
        }
    }

    private static async Task<(long Offset, string Complete, long Length)> HeadAsync(HttpClient client, HostProcess host, Uri upload, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, upload);
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.NoContent, host.Describe($"HEAD {upload}: {(int)response.StatusCode}"));
        return (
            long.Parse(Assert.Single(response.Headers.GetValues("Upload-Offset")), NumberStyles.None, CultureInfo.InvariantCulture),
            Assert.Single(response.Headers.GetValues("Upload-Complete")),
            long.Parse(Assert.Single(response.Headers.GetValues("Upload-Length")), NumberStyles.None, CultureInfo.InvariantCulture));
    }

    private static async Task AssertStoredAsync(HttpClient client, HostProcess host, Uri upload, CancellationToken cancellationToken)
    {
        var expected = DeterministicData.Sha256(Seed, Size);

        var stored = Path.Combine(host.TargetRoot, upload.Segments[^1]);
        Assert.True(File.Exists(stored), host.Describe($"no stored object at {stored}"));
        Assert.Equal(Size, new FileInfo(stored).Length);
        Assert.Equal(expected, await DeterministicData.Sha256FileAsync(stored, cancellationToken));

        using var response = await client.GetAsync(new Uri(upload + "/content"), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Size, response.Content.Headers.ContentLength);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        Assert.Equal(expected, Convert.ToHexStringLower(await SHA256.HashDataAsync(body, cancellationToken)));
    }

    /// <summary>Announces <c>length</c> bytes, writes the first <c>stallAfter</c> of them, then waits until the request is cancelled.</summary>
    private sealed class StallingContent : HttpContent
    {
        private readonly ulong _seed;
        private readonly long _offset;
        private readonly long _stallAfter;
        private long _written;

        public StallingContent(ulong seed, long offset, long length, long stallAfter)
        {
            _seed = seed;
            _offset = offset;
            _stallAfter = stallAfter;
            Headers.ContentLength = length;
        }

        public TaskCompletionSource Stalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Bytes handed to the connection (an upper bound of what the server can have received).</summary>
        public long BytesWritten => Interlocked.Read(ref _written);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            while (_written < _stallAfter)
            {
                var n = (int)Math.Min(buffer.Length, _stallAfter - _written);
                DeterministicData.Fill(_seed, _offset + _written, buffer.AsSpan(0, n));
                await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                Interlocked.Add(ref _written, n);
            }

            await stream.FlushAsync(cancellationToken);
            Stalled.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = Headers.ContentLength!.Value;
            return true;
        }
    }
}
