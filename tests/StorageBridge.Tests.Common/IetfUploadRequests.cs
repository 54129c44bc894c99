using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Xunit;

namespace StorageBridge.Tests;

/// <summary>
/// IETF resumable-upload requests (interop 8) for tests that drive a Host process with <see cref="DeterministicData"/>
/// content, asserting the status codes and fields of each answer.
/// </summary>
public static class IetfUploadRequests
{
    /// <summary>POST with <c>Upload-Complete: ?0</c> and <c>Upload-Length</c>; returns the upload's absolute URL.</summary>
    public static async Task<Uri> CreateAsync(HttpClient client, string path, long length, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent([]) };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Complete", "?0");
        request.Headers.Add("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return new Uri(client.BaseAddress!, response.Headers.Location!);
    }

    /// <summary>
    /// PATCHes bytes [offset, offset + length) of stream <paramref name="seed"/> (cut at <paramref name="total"/>, completing
    /// the upload when it reaches it); asserts 204/200 and <c>Upload-Complete</c>. Returns the new offset.
    /// </summary>
    public static async Task<long> AppendAsync(HttpClient client, Uri upload, ulong seed, long offset, long length, long total, CancellationToken cancellationToken)
    {
        length = Math.Min(length, total - offset);
        var last = offset + length == total;
        var body = new byte[length];
        DeterministicData.Fill(seed, offset, body);
        using var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = new ByteArrayContent(body) };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", last ? "?1" : "?0");
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.Equal(last ? HttpStatusCode.OK : HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(last ? "?1" : "?0", response.Headers.GetValues("Upload-Complete").Single());
        return offset + length;
    }

    /// <summary>HEAD of an incomplete upload: asserts 204 and <c>Upload-Complete: ?0</c>; returns <c>Upload-Offset</c>.</summary>
    public static async Task<long> HeadOffsetAsync(HttpClient client, Uri upload, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, upload);
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("?0", response.Headers.GetValues("Upload-Complete").Single());
        return long.Parse(response.Headers.GetValues("Upload-Offset").Single(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Starts a PATCH at <paramref name="offset"/> announcing <paramref name="announced"/> bytes of stream
    /// <paramref name="seed"/>, sends the first <paramref name="stallAfter"/>, lets the host take them in, then SIGKILLs
    /// the host under the open request. Returns how many body bytes were sent.
    /// </summary>
    public static async Task<long> KillHostDuringPatchAsync(
        HttpClient client, HostProcess host, Uri upload, ulong seed, long offset, long announced, long stallAfter, CancellationToken cancellationToken)
    {
        var stalling = new StallingContent(seed, offset, announced, stallAfter);
        using var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = stalling };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", "?0");
        stalling.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        using var inFlight = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var send = client.SendAsync(request, inFlight.Token);
        await stalling.Stalled.Task.WaitAsync(cancellationToken);
        await Task.Delay(500, cancellationToken); // let the host take in what arrived
        var sent = stalling.BytesWritten;
        host.Kill();
        await inFlight.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => send);
        return sent;
    }
}
