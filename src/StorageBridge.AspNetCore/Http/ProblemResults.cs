using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace StorageBridge.AspNetCore.Http;

/// <summary>RFC 9457 problem details, written without MVC so extension members keep their hyphenated names.</summary>
internal static class ProblemResults
{
    public const string ProblemTypes = "https://iana.org/assignments/http-problem-types#";
    public const string MismatchingOffset = ProblemTypes + "mismatching-upload-offset";
    public const string InconsistentLength = ProblemTypes + "inconsistent-upload-length";
    public const string CompletedUpload = ProblemTypes + "completed-upload";

    public static async Task WriteAsync(
        HttpResponse response, int status, string type, string title, string? detail,
        IReadOnlyList<KeyValuePair<string, object>>? extensions = null)
    {
        response.StatusCode = status;
        response.ContentType = "application/problem+json";
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", type);
            json.WriteString("title", title);
            json.WriteNumber("status", status);
            if (detail is not null)
            {
                json.WriteString("detail", detail);
            }

            foreach (var (name, value) in extensions ?? [])
            {
                json.WritePropertyName(name);
                JsonSerializer.Serialize(json, value, value.GetType(), ProblemJsonContext.Default);
            }

            json.WriteEndObject();
        }

        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), response.HttpContext.RequestAborted);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(long))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
internal sealed partial class ProblemJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
