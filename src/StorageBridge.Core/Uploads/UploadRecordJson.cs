using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace StorageBridge.Uploads;

/// <summary>The one document format every metadata store persists, so stores never diverge on field names.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UploadRecord))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(List<PartRecord>))]
internal sealed partial class UploadRecordJsonContext : JsonSerializerContext;

public static class UploadRecordJson
{
    /// <summary>Source-generated metadata of the document, for stores that read or write it as a stream or a JSON node.</summary>
    public static JsonTypeInfo<UploadRecord> TypeInfo => UploadRecordJsonContext.Default.UploadRecord;

    public static string Serialize(UploadRecord record) =>
        JsonSerializer.Serialize(record, UploadRecordJsonContext.Default.UploadRecord);

    public static UploadRecord Deserialize(string json, string version) =>
        (JsonSerializer.Deserialize(json, UploadRecordJsonContext.Default.UploadRecord)
            ?? throw new JsonException("Upload record document is null.")) with { Version = version };
}
