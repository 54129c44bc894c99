using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace StorageBridge.Bench;

/// <summary>One way of doing "create, then append bodies" against a server.</summary>
internal interface IUploadProtocol
{
    string Name { get; }

    /// <summary>Creates an upload of <paramref name="length"/> bytes and returns its absolute URL.</summary>
    Task<Uri> CreateAsync(HttpClient client, long length, CancellationToken cancellationToken);

    /// <summary>Appends <paramref name="body"/> at <paramref name="offset"/>; returns the server's new offset (or offset + body length when the response carries none).</summary>
    Task<long> AppendAsync(HttpClient client, Uri upload, long offset, HttpContent body, bool last, CancellationToken cancellationToken);

    /// <summary>Where the server stores the finished object.</summary>
    string StoredPath(string root, Uri upload);
}

/// <summary>StorageBridge's IETF draft front-end at interop version 8.</summary>
internal sealed class IetfDraftProtocol : IUploadProtocol
{
    public string Name => "bridge";

    public async Task<Uri> CreateAsync(HttpClient client, long length, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "uploads/default");
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Complete", "?0");
        request.Headers.Add("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
        request.Content = new ByteArrayContent([]);
        using var response = await client.SendAsync(request, cancellationToken);
        await Checks.ExpectAsync(response, HttpStatusCode.Created, "creation", cancellationToken);
        var location = response.Headers.Location ?? throw new InvalidOperationException("creation: 201 without Location");
        return new Uri(client.BaseAddress!, location);
    }

    public async Task<long> AppendAsync(HttpClient client, Uri upload, long offset, HttpContent body, bool last, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, upload);
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", last ? "?1" : "?0");
        body.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        request.Content = body;
        using var response = await client.SendAsync(request, cancellationToken);
        await Checks.ExpectSuccessAsync(response, "append", cancellationToken);
        return Checks.OffsetOrDefault(response, offset + body.Headers.ContentLength!.Value);
    }

    public string StoredPath(string root, Uri upload) => Path.Combine(root, upload.Segments[^1]);
}

/// <summary>The baseline server (see <see cref="BaselineServer"/>).</summary>
internal sealed class BaselineProtocol : IUploadProtocol
{
    public string Name => "baseline";

    public async Task<Uri> CreateAsync(HttpClient client, long length, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "baseline") { Content = new ByteArrayContent([]) };
        using var response = await client.SendAsync(request, cancellationToken);
        await Checks.ExpectAsync(response, HttpStatusCode.Created, "creation", cancellationToken);
        return new Uri(client.BaseAddress!, response.Headers.Location!);
    }

    public async Task<long> AppendAsync(HttpClient client, Uri upload, long offset, HttpContent body, bool last, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = body };
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        using var response = await client.SendAsync(request, cancellationToken);
        await Checks.ExpectAsync(response, HttpStatusCode.NoContent, "append", cancellationToken);
        return Checks.OffsetOrDefault(response, offset + body.Headers.ContentLength!.Value);
    }

    public string StoredPath(string root, Uri upload) => Path.Combine(root, upload.Segments[^1]);
}

internal static class Checks
{
    public static async Task ExpectAsync(HttpResponseMessage response, HttpStatusCode expected, string what, CancellationToken cancellationToken)
    {
        if (response.StatusCode != expected)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"{what}: expected {(int)expected}, got {(int)response.StatusCode} {response.ReasonPhrase}: {body}");
        }
    }

    public static async Task ExpectSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"{what}: got {(int)response.StatusCode} {response.ReasonPhrase}: {body}");
        }
    }

    public static long OffsetOrDefault(HttpResponseMessage response, long expected)
    {
        if (!response.Headers.TryGetValues("Upload-Offset", out var values))
        {
            return expected;
        }

        var offset = long.Parse(values.Single(), NumberStyles.None, CultureInfo.InvariantCulture);
        if (offset != expected)
        {
            throw new InvalidOperationException($"append: server reports Upload-Offset {offset}, expected {expected}");
        }

        return offset;
    }
}
