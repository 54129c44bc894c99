using System.Text.Json;
using System.Text.Json.Serialization;

namespace StorageBridge.Events;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(UploadCompletedEvent))]
internal sealed partial class CompletionEventJsonContext : JsonSerializerContext;

/// <summary>
/// The wire form of <see cref="UploadCompletedEvent"/> every sink sends (webhook body, queue message): camelCase JSON,
/// absent values as null, timestamps in ISO 8601 with offset. docs/events.md documents the schema.
/// </summary>
public static class CompletionEventJson
{
    public static byte[] SerializeToUtf8Bytes(UploadCompletedEvent completed) =>
        JsonSerializer.SerializeToUtf8Bytes(completed, CompletionEventJsonContext.Default.UploadCompletedEvent);

    public static string Serialize(UploadCompletedEvent completed) =>
        JsonSerializer.Serialize(completed, CompletionEventJsonContext.Default.UploadCompletedEvent);

    public static UploadCompletedEvent Deserialize(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, CompletionEventJsonContext.Default.UploadCompletedEvent)
            ?? throw new JsonException("The completion event is null.");
}
