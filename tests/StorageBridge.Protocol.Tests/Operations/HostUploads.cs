using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using StorageBridge.Tests;

namespace StorageBridge.Protocol.Tests.Operations;

/// <summary>IETF (interop 8) requests on the Host's <c>default</c> target for the operations tests.</summary>
internal static class HostUploads
{
    public static HttpClient CreateClient(HostProcess host) =>
        new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

    public static async Task<Uri> CreateAsync(HttpClient client, HostProcess host, long length, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent([]) };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Complete", "?0");
        request.Headers.Add("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Created, host.Describe($"POST: {(int)response.StatusCode}"));
        return new Uri(host.BaseAddress, response.Headers.Location!);
    }

    public static HttpRequestMessage AppendRequest(Uri upload, long offset, bool last, HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = content };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", last ? "?1" : "?0");
        content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        return request;
    }

    /// <summary>Appends bytes [offset, offset + count) of the seed's data; asserts 204 (200 when it completes) and the new offset.</summary>
    public static async Task<long> AppendAsync(HttpClient client, HostProcess host, Uri upload, ulong seed, long offset, long count, long size, CancellationToken cancellationToken)
    {
        count = Math.Min(count, size - offset);
        var last = offset + count == size;
        var body = new byte[count];
        DeterministicData.Fill(seed, offset, body);
        using var request = AppendRequest(upload, offset, last, new ByteArrayContent(body));
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.True(
            response.StatusCode == (last ? HttpStatusCode.OK : HttpStatusCode.NoContent),
            host.Describe($"PATCH at {offset} (+{count}): {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}"));
        Assert.Equal((offset + count).ToString(CultureInfo.InvariantCulture), Assert.Single(response.Headers.GetValues("Upload-Offset")));
        return offset + count;
    }

    public static async Task<long> HeadOffsetAsync(HttpClient client, HostProcess host, Uri upload, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, upload);
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.NoContent, host.Describe($"HEAD {upload}: {(int)response.StatusCode}"));
        return long.Parse(Assert.Single(response.Headers.GetValues("Upload-Offset")), NumberStyles.None, CultureInfo.InvariantCulture);
    }
}
