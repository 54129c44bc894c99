using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace StorageBridge.Protocol.Tests.Ietf;

/// <summary>
/// Builds requests the way a client of one interop version would (0 = no Upload-Draft-Interop-Version header,
/// which the server serves as the latest draft) and reads responses.
/// </summary>
public static class IetfProtocol
{
    public const string PartialUpload = "application/partial-upload";
    public const string ProblemJson = "application/problem+json";
    public const string ProblemTypes = "https://iana.org/assignments/http-problem-types#";
    public const string MismatchingOffset = ProblemTypes + "mismatching-upload-offset";
    public const string InconsistentLength = ProblemTypes + "inconsistent-upload-length";
    public const string CompletedUpload = ProblemTypes + "completed-upload";

    /// <summary>Interop versions under test; 0 stands for "no version header".</summary>
    public static TheoryData<int> AllVersions => [3, 4, 5, 6, 7, 8, 0];

    /// <summary>The draft behaviour a version gets (no header: the latest).</summary>
    public static int Effective(int version) => version == 0 ? 8 : version;

    public static string CompleteHeader(int version) => version == 3 ? "Upload-Incomplete" : "Upload-Complete";

    /// <summary>The completion flag as this version spells it (interop 3 inverts it).</summary>
    public static string CompleteValue(int version, bool complete) => (version == 3 ? !complete : complete) ? "?1" : "?0";

    public static HttpRequestMessage Request(HttpMethod method, string url, int version)
    {
        var request = new HttpRequestMessage(method, url);
        if (version != 0)
        {
            request.Headers.TryAddWithoutValidation("Upload-Draft-Interop-Version", version.ToString(CultureInfo.InvariantCulture));
        }

        return request;
    }

    public static void SetComplete(HttpRequestMessage request, int version, bool complete) =>
        request.Headers.TryAddWithoutValidation(CompleteHeader(version), CompleteValue(version, complete));

    /// <summary>Creation request (POST to the target) with optional content.</summary>
    public static HttpRequestMessage Creation(string target, int version, bool complete, byte[]? content, long? uploadLength = null)
    {
        var request = Request(HttpMethod.Post, $"{IetfServerFixture.Prefix}/{target}", version);
        SetComplete(request, version, complete);
        if (uploadLength is long length)
        {
            request.Headers.TryAddWithoutValidation("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
        }

        if (content is not null)
        {
            request.Content = new ByteArrayContent(content);
        }

        return request;
    }

    /// <summary>Append request (PATCH to the upload) with the media type its version expects.</summary>
    public static HttpRequestMessage Append(string location, int version, long offset, bool complete, byte[] content)
    {
        var request = Request(HttpMethod.Patch, location, version);
        request.Headers.TryAddWithoutValidation("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        SetComplete(request, version, complete);
        request.Content = new ByteArrayContent(content);
        if (Effective(version) >= 6)
        {
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(PartialUpload);
        }

        return request;
    }

    public static async Task<string> CreateAsync(this HttpClient client, string target, byte[]? content, bool complete = false, int version = 8, long? uploadLength = null)
    {
        using var response = await client.SendAsync(Creation(target, version, complete, content, uploadLength));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return Location(response);
    }

    public static async Task<HttpResponseMessage> AppendAsync(this HttpClient client, string location, long offset, bool complete, byte[] content, int version = 8) =>
        await client.SendAsync(Append(location, version, offset, complete, content));

    public static async Task<HttpResponseMessage> HeadAsync(this HttpClient client, string location, int version = 8) =>
        await client.SendAsync(Request(HttpMethod.Head, location, version));

    /// <summary>The offset HEAD reports (asserting 204).</summary>
    public static async Task<long> OffsetAsync(this HttpClient client, string location)
    {
        using var response = await client.HeadAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        return long.Parse(Header(response, "Upload-Offset")!, CultureInfo.InvariantCulture);
    }

    public static async Task<byte[]> DownloadAsync(this HttpClient client, string location)
    {
        using var response = await client.GetAsync(location + "/content");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    public static string Location(HttpResponseMessage response)
    {
        var location = Header(response, "Location");
        Assert.False(string.IsNullOrEmpty(location), "response has no Location");
        Assert.StartsWith(IetfServerFixture.Prefix + "/", location, StringComparison.Ordinal);
        return location!;
    }

    public static string IdOf(string location) => location[(location.LastIndexOf('/') + 1)..];

    /// <summary>A response header (response or content headers), values joined with ", "; null when absent.</summary>
    public static string? Header(HttpResponseMessage response, string name)
    {
        if (response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values))
        {
            return string.Join(", ", values);
        }

        return null;
    }

    public static long? LongHeader(HttpResponseMessage response, string name) =>
        Header(response, name) is { } value ? long.Parse(value, CultureInfo.InvariantCulture) : null;

    /// <summary>Upload-Limit as a dictionary of integer members (the only kind the draft defines).</summary>
    public static Dictionary<string, long> Limits(HttpResponseMessage response)
    {
        var header = Header(response, "Upload-Limit");
        Assert.False(header is null, "response has no Upload-Limit");
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var member in header!.Split(','))
        {
            var parts = member.Trim().Split('=', 2);
            Assert.Equal(2, parts.Length);
            result.Add(parts[0], long.Parse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture));
        }

        return result;
    }

    /// <summary>Asserts an RFC 9457 problem of <paramref name="status"/> and <paramref name="type"/>; returns its JSON.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? type = null)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(ProblemJson, response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement.Clone();
        Assert.True(root.TryGetProperty("type", out var typeElement), "problem has no type");
        if (type is not null)
        {
            Assert.Equal(type, typeElement.GetString());
        }

        return root;
    }

    /// <summary>Completion flag of a response in the version's spelling (null when absent).</summary>
    public static bool? Complete(HttpResponseMessage response, int version)
    {
        var value = Header(response, CompleteHeader(version));
        if (value is null)
        {
            return null;
        }

        Assert.True(value is "?1" or "?0", $"{CompleteHeader(version)}: {value}");
        return version == 3 ? value == "?0" : value == "?1";
    }

    /// <summary>Asserts the interop version is echoed exactly when the client announced one.</summary>
    public static void AssertVersionEcho(HttpResponseMessage response, int version)
    {
        var echoed = Header(response, "Upload-Draft-Interop-Version");
        Assert.Equal(version == 0 ? null : version.ToString(CultureInfo.InvariantCulture), echoed);
    }
}
