using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace StorageBridge.Events;

/// <summary>
/// Web defaults (camelCase names), nulls written: every field of the documented schema is present in every message.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(UploadCompletedEvent))]
internal sealed partial class CompletionEventJsonContext : JsonSerializerContext;

/// <summary>
/// The one JSON form of <see cref="UploadCompletedEvent"/> (camelCase, UTF-8): what the outbox stores and every sink
/// sends (webhook body, queue message), so receivers see the same bytes whichever way the event came.
/// </summary>
public static class CompletionEventJson
{
    /// <summary>Source-generated metadata, for code that writes the event into a larger document or stream.</summary>
    public static JsonTypeInfo<UploadCompletedEvent> TypeInfo => CompletionEventJsonContext.Default.UploadCompletedEvent;

    public static byte[] SerializeToUtf8Bytes(UploadCompletedEvent completed) =>
        JsonSerializer.SerializeToUtf8Bytes(completed, CompletionEventJsonContext.Default.UploadCompletedEvent);

    public static string Serialize(UploadCompletedEvent completed) =>
        JsonSerializer.Serialize(completed, CompletionEventJsonContext.Default.UploadCompletedEvent);

    public static UploadCompletedEvent Deserialize(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, CompletionEventJsonContext.Default.UploadCompletedEvent)
            ?? throw new JsonException("The completion event is null.");

    public static UploadCompletedEvent Deserialize(string json) =>
        JsonSerializer.Deserialize(json, CompletionEventJsonContext.Default.UploadCompletedEvent)
            ?? throw new JsonException("The completion event is null.");
}
