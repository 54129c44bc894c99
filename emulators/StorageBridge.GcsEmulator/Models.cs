using System.Text.Json.Nodes;

namespace StorageBridge.GcsEmulator;

public sealed record BucketRecord(string Name, string Project, DateTimeOffset Created);

/// <summary>The writable object fields a client sends on insert (JSON metadata part or resumable initiation).</summary>
public sealed record ObjectSpec(
    string Name,
    string? ContentType,
    IReadOnlyDictionary<string, string>? Metadata,
    IReadOnlyDictionary<string, string> Extra,
    string? ExpectedMd5,
    string? ExpectedCrc32C);

/// <summary>One stored generation of an object; its bytes live in <see cref="FilePath"/>.</summary>
public sealed record ObjectRecord(
    string Bucket,
    ObjectSpec Spec,
    long Generation,
    long Metageneration,
    long Size,
    string Md5Base64,
    string Crc32CBase64,
    DateTimeOffset Created,
    string FilePath)
{
    public string Name => Spec.Name;

    public string ContentType => Spec.ContentType ?? "application/octet-stream";

    public string ETag => Convert.ToBase64String(BitConverter.GetBytes(Generation)).TrimEnd('=') + Metageneration;
}

/// <summary>If* query parameters of a request, checked against the live generation.</summary>
public sealed record Preconditions(long? IfGenerationMatch, long? IfGenerationNotMatch, long? IfMetagenerationMatch, long? IfMetagenerationNotMatch)
{
    public static Preconditions From(IQueryCollection query) => new(
        Parse(query, "ifGenerationMatch"),
        Parse(query, "ifGenerationNotMatch"),
        Parse(query, "ifMetagenerationMatch"),
        Parse(query, "ifMetagenerationNotMatch"));

    /// <summary>Throws 412 when a condition fails; a generation of 0 stands for "no live object".</summary>
    public void Check(ObjectRecord? current)
    {
        long generation = current?.Generation ?? 0;
        if (IfGenerationMatch is { } match && match != generation)
        {
            throw GcsException.PreconditionFailed();
        }

        if (IfGenerationNotMatch is { } notMatch && notMatch == generation)
        {
            throw GcsException.PreconditionFailed();
        }

        if (IfMetagenerationMatch is { } metaMatch && (current is null || current.Metageneration != metaMatch))
        {
            throw GcsException.PreconditionFailed();
        }

        if (IfMetagenerationNotMatch is { } metaNotMatch && current is not null && current.Metageneration == metaNotMatch)
        {
            throw GcsException.PreconditionFailed();
        }
    }

    private static long? Parse(IQueryCollection query, string key)
    {
        string? value = query[key];
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        return long.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long parsed)
            ? parsed
            : throw GcsException.BadRequest($"Invalid value for {key}: {value}");
    }
}

/// <summary>A resumable upload session; <see cref="Gate"/> serialises requests on it.</summary>
public sealed class UploadSession(string id, string bucket, ObjectSpec spec, Preconditions preconditions, string filePath)
{
    public string Id { get; } = id;

    public string Bucket { get; } = bucket;

    public ObjectSpec Spec { get; } = spec;

    public Preconditions Preconditions { get; } = preconditions;

    public string FilePath { get; } = filePath;

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Bytes durably received; always a multiple of 256 KiB until the session completes.</summary>
    public long Persisted { get; set; }

    /// <summary>The total size, once a request declared it.</summary>
    public long? Total { get; set; }

    /// <summary>The object the session produced; later requests on the session answer it again.</summary>
    public ObjectRecord? Result { get; set; }
}

internal static class JsonFields
{
    public static string? GetString(JsonObject obj, string key) =>
        obj.TryGetPropertyValue(key, out JsonNode? node) && node is JsonValue value && value.TryGetValue(out string? s) ? s : null;
}
