using System.Text.Json;
using System.Text.Json.Serialization;
using StorageBridge.Coordination;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>
/// What an upload made of numbered chunks keeps in its record: one <see cref="UploadRecord.ProtocolState"/> entry
/// (<see cref="Key"/>) holding this record as JSON. Records of older versions (other keys) have none: their upload is
/// not resumed, the same file starts a new one.
/// </summary>
internal sealed record ChunkUploadState
{
    public const string Key = "resumable";

    public required ChunkLayout Layout { get; init; }

    /// <summary>Chunks go straight to backend parts (<see cref="ChunkLayout.FitsDirectParts"/>); otherwise ordered.</summary>
    public required bool Direct { get; init; }

    /// <summary>The lookup key that names this upload (<see cref="ChunkLookups"/>).</summary>
    public required string Lookup { get; init; }

    /// <summary>Chunks kept ahead of the offset (ordered mode), oldest reservation first.</summary>
    public IReadOnlyList<StagedChunk> Staged { get; init; } = [];

    /// <summary>
    /// SHA-256 (base64) of each stored chunk, by chunk number, written by the request that stored it: a later copy
    /// with other bytes is refused (<see cref="ChunkDigest"/>). A chunk stored by an older version has none and is
    /// answered as a duplicate, as it was then.
    /// </summary>
    public IReadOnlyDictionary<int, string> Digests { get; init; } = new Dictionary<int, string>();

    /// <summary>This state with <paramref name="digest"/> recorded for chunk <paramref name="number"/>.</summary>
    public ChunkUploadState WithDigest(int number, string digest) =>
        this with { Digests = new Dictionary<int, string>(Digests) { [number] = digest } };

    /// <summary>The state in <paramref name="upload"/>, or null when it has none (not a chunk upload, or one of an older version).</summary>
    public static ChunkUploadState? Read(UploadRecord upload)
    {
        if (upload.ProtocolState.GetValueOrDefault(Key) is not { Length: > 0 } json)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(json, ChunkStateJsonContext.Default.ChunkUploadState);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The state of <paramref name="upload"/>; throws when it has none (callers checked it before).</summary>
    public static ChunkUploadState Of(UploadRecord upload) =>
        Read(upload) ?? throw new InvalidOperationException($"Upload {upload.Id} has no chunk state.");

    /// <summary><paramref name="current"/> protocol state with this state in its entry.</summary>
    public IReadOnlyDictionary<string, string> WriteTo(IReadOnlyDictionary<string, string> current) =>
        new Dictionary<string, string>(current, StringComparer.Ordinal) { [Key] = JsonSerializer.Serialize(this, ChunkStateJsonContext.Default.ChunkUploadState) };

    /// <summary>Whether chunk <paramref name="number"/> of <paramref name="upload"/> is durably stored.</summary>
    public bool IsStored(UploadRecord upload, int number)
    {
        if (upload.State == UploadState.Completed)
        {
            return true;
        }

        if (Direct)
        {
            return upload.Parts.Any(p => p.Number == number);
        }

        // A zero-byte chunk (the only chunk of an empty file) is stored when the upload completes.
        return (Layout.SizeOf(number) > 0 && Layout.End(number) <= upload.Offset)
            || Staged.Any(s => s.Chunk == number && s.Ready);
    }

    public bool AllStored(UploadRecord upload) => Enumerable.Range(1, Layout.ChunkCount).All(k => IsStored(upload, k));
}

/// <summary>A chunk kept in staged bytes (<see cref="StagedRange"/>) until it can be appended; Ready once every byte is written.</summary>
internal sealed record StagedChunk(int Chunk, StagedRange Range, bool Ready);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ChunkUploadState))]
internal sealed partial class ChunkStateJsonContext : JsonSerializerContext;
