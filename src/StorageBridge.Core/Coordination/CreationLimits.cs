using System.Text;
using StorageBridge.Targets;

namespace StorageBridge.Coordination;

/// <summary>
/// The size limits a creation must pass before anything is stored: <c>MaxFileNameLength</c> and <c>MaxMetadataSize</c>
/// (UTF-8 bytes of every metadata key and value, and of a content type given apart from them), so a client cannot make the store hold kilobytes per empty upload.
/// </summary>
internal static partial class CreationLimits
{
    [Microsoft.Extensions.Logging.LoggerMessage(Diagnostics.EventIds.Limits.CreationRefused, Microsoft.Extensions.Logging.LogLevel.Information,
        "Target {Target}: creation refused by the limit {Limit}; nothing was stored")]
    public static partial void LogRefused(Microsoft.Extensions.Logging.ILogger logger, string target, LimitKind limit);

    /// <summary>The refusal, or null when the creation is within the target's limits.</summary>
    public static CreateResult? Check(UploadTarget target, string? fileName, string? contentType, IReadOnlyDictionary<string, string>? metadata)
    {
        var quotas = target.Options.Quotas;
        if (fileName is not null && Encoding.UTF8.GetByteCount(fileName) > quotas.MaxFileNameLength)
        {
            return new CreateResult(UploadOutcome.MetadataTooLarge, null, LimitKind.MaxFileNameLength);
        }

        // A content type from its own header (IETF Content-Type) is stored beside the metadata, so it counts too.
        var size = MetadataSize(metadata);
        if (contentType is not null && metadata?.Values.Contains(contentType, StringComparer.Ordinal) != true)
        {
            size += Encoding.UTF8.GetByteCount(contentType);
        }

        return size > quotas.MaxMetadataSize
            ? new CreateResult(UploadOutcome.MetadataTooLarge, null, LimitKind.MaxMetadataSize)
            : null;
    }

    /// <summary>UTF-8 bytes of all keys and values.</summary>
    public static long MetadataSize(IReadOnlyDictionary<string, string>? metadata)
    {
        long total = 0;
        foreach (var (key, value) in metadata ?? Uploads.UploadRecord.EmptyMetadata)
        {
            total += Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value);
        }

        return total;
    }
}
