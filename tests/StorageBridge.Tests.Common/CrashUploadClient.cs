using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Xunit;

namespace StorageBridge.Tests;

/// <summary>
/// IETF (interop 8) requests of a known length of <see cref="DeterministicData"/> against a Host process, for the
/// crash tests of every backend: create, append a range, HEAD, and a PATCH whose body stalls so the host can be killed
/// under it.
/// </summary>
public sealed class CrashUploadClient(HttpClient client, ulong seed, long size)
{
    public HttpClient Http => client;

    public static HttpClient CreateHttpClient(HostProcess host) =>
        new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

    /// <summary>POST uploads/{target} announcing the whole size, no data; the upload's absolute URL.</summary>
    public async Task<Uri> CreateAsync(string target, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "uploads/" + target) { Content = new ByteArrayContent([]) };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Complete", "?0");
        request.Headers.Add("Upload-Length", size.ToString(CultureInfo.InvariantCulture));
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return new Uri(client.BaseAddress!, response.Headers.Location!);
    }

    /// <summary>PATCHes up to <paramref name="length"/> bytes at <paramref name="offset"/> (completing at the size); the new offset.</summary>
    public async Task<long> AppendAsync(Uri upload, long offset, long length, CancellationToken cancellationToken)
    {
        length = Math.Min(length, size - offset);
        var last = offset + length == size;
        var body = new byte[length];
        DeterministicData.Fill(seed, offset, body);
        using var request = Patch(upload, offset, new ByteArrayContent(body), last);
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.Equal(last ? HttpStatusCode.OK : HttpStatusCode.NoContent, response.StatusCode);
        return offset + length;
    }

    /// <summary>Appends <paramref name="chunk"/>-sized PATCHes from <paramref name="offset"/> until the upload completes.</summary>
    public async Task FinishAsync(Uri upload, long offset, long chunk, CancellationToken cancellationToken)
    {
        while (offset < size)
        {
            offset = await AppendAsync(upload, offset, chunk, cancellationToken);
        }
    }

    /// <summary>HEAD: the offset and whether the upload is complete.</summary>
    public async Task<(long Offset, bool Complete)> HeadAsync(Uri upload, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, upload);
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        return (long.Parse(response.Headers.GetValues("Upload-Offset").Single(), CultureInfo.InvariantCulture),
            response.Headers.GetValues("Upload-Complete").Single() == "?1");
    }

    public async Task<long> HeadOffsetAsync(Uri upload, CancellationToken cancellationToken) => (await HeadAsync(upload, cancellationToken)).Offset;

    /// <summary>
    /// Sends a PATCH at <paramref name="offset"/> announcing <paramref name="announced"/> bytes, of which only the first
    /// <paramref name="stallAfter"/> go out; once they did (and the host had half a second to take them in) SIGKILLs
    /// <paramref name="host"/>. Returns how many body bytes were sent.
    /// </summary>
    public async Task<long> KillDuringAppendAsync(
        HostProcess host, Uri upload, long offset, long announced, long stallAfter, CancellationToken cancellationToken)
    {
        var body = new StallingContent(seed, offset, announced, stallAfter);
        using var request = Patch(upload, offset, body, last: false);
        using var inFlight = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var send = client.SendAsync(request, inFlight.Token);
        await body.Stalled.Task.WaitAsync(cancellationToken);
        await Task.Delay(500, cancellationToken);
        var sent = body.BytesWritten;
        host.Kill();
        await inFlight.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => send);
        return sent;
    }

    /// <summary>After a restart: HEAD must report an offset within [acknowledged, acknowledged + sent]; then the rest is sent.</summary>
    public async Task<long> ResumeWithinAsync(Uri upload, long acknowledged, long sent, long chunk, CancellationToken cancellationToken)
    {
        var offset = await HeadOffsetAsync(upload, cancellationToken);
        Assert.InRange(offset, acknowledged, acknowledged + sent);
        await FinishAsync(upload, offset, chunk, cancellationToken);
        return offset;
    }

    private static HttpRequestMessage Patch(Uri upload, long offset, HttpContent content, bool last)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = content };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", last ? "?1" : "?0");
        content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        return request;
    }
}

/// <summary>Announces <c>length</c> bytes of deterministic data from <c>offset</c>, writes the first <c>stallAfter</c>, then waits until cancelled.</summary>
public sealed class StallingContent(ulong seed, long offset, long length, long stallAfter) : HttpContent
{
    public TaskCompletionSource Stalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long BytesWritten { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (BytesWritten < stallAfter)
        {
            var n = (int)Math.Min(buffer.Length, stallAfter - BytesWritten);
            DeterministicData.Fill(seed, offset + BytesWritten, buffer.AsSpan(0, n));
            await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            BytesWritten += n;
        }

        await stream.FlushAsync(cancellationToken);
        Stalled.TrySetResult();
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    protected override bool TryComputeLength(out long computed)
    {
        computed = length;
        return true;
    }
}
