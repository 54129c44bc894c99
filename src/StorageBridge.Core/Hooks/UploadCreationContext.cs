using System.Security.Claims;

namespace StorageBridge.Hooks;

/// <summary>What is about to be created, as an <see cref="IUploadCreationHook"/> sees it.</summary>
public sealed record UploadCreationContext
{
    public required string Target { get; init; }

    /// <summary>"ietf", "tus" or "resumable" (Resumable.js and Flow.js).</summary>
    public required string Protocol { get; init; }

    /// <summary>Owner id of the creating principal (recorded as the upload's owner); null: anonymous.</summary>
    public string? Owner { get; init; }

    /// <summary>The authenticated caller with its claims; null: anonymous or unknown.</summary>
    public ClaimsPrincipal? Principal { get; init; }

    /// <summary>Declared total length; null when deferred (IETF without Upload-Length, tus Upload-Defer-Length).</summary>
    public long? Length { get; init; }
    public string? ContentType { get; init; }
    public string? FileName { get; init; }

    /// <summary>The client's metadata, with the changes of earlier hooks applied.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Object key (below the target's prefix) an earlier hook chose; null: the target's key template decides.</summary>
    public string? ObjectKey { get; init; }

    /// <summary>For a concatenation (tus final upload): the ids of the joined uploads in order; null otherwise.</summary>
    public IReadOnlyList<string>? ConcatenationSources { get; init; }
}
