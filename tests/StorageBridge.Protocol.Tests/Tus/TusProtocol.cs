using System.Globalization;
using System.Net.Http.Headers;
using StorageBridge.Protocol.Tests.Ietf;

namespace StorageBridge.Protocol.Tests.Tus;

/// <summary>Builds tus 1.0.0 requests the way a tus client does, against the IETF test server's targets.</summary>
public static class TusProtocol
{
    public const string OctetStream = "application/offset+octet-stream";

    public static HttpRequestMessage Request(HttpMethod method, string url)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.TryAddWithoutValidation("Tus-Resumable", "1.0.0");
        return request;
    }

    public static HttpRequestMessage Creation(string target, long? length, byte[]? content = null, string? metadata = null)
    {
        var request = Request(HttpMethod.Post, $"{IetfServerFixture.Prefix}/{target}");
        if (length is long l)
        {
            request.Headers.TryAddWithoutValidation("Upload-Length", l.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            request.Headers.TryAddWithoutValidation("Upload-Defer-Length", "1");
        }

        if (metadata is not null)
        {
            request.Headers.TryAddWithoutValidation("Upload-Metadata", metadata);
        }

        if (content is not null)
        {
            request.Content = new ByteArrayContent(content);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(OctetStream);
        }

        return request;
    }

    public static HttpRequestMessage Patch(string location, long offset, byte[] content)
    {
        var request = Request(HttpMethod.Patch, location);
        request.Headers.TryAddWithoutValidation("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Content = new ByteArrayContent(content);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(OctetStream);
        return request;
    }

    public static async Task<string> TusCreateAsync(this HttpClient client, string target, long? length, byte[]? content = null, string? metadata = null)
    {
        using var response = await client.SendAsync(Creation(target, length, content, metadata));
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return IetfProtocol.Location(response);
    }

    public static async Task<HttpResponseMessage> TusHeadAsync(this HttpClient client, string location) =>
        await client.SendAsync(Request(HttpMethod.Head, location));

    public static string? Header(HttpResponseMessage response, string name) => IetfProtocol.Header(response, name);

    public static string Base64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));
}
