using StorageBridge.Coordination;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>
/// The identity and layout fields of a numbered-chunk request (Resumable.js / Flow.js), already parsed from HTTP
/// (<see cref="ChunkFields.ToRequest"/>). The client's identifier is not secret; the upload it maps to has its own
/// random id (see <see cref="ChunkLookups"/>).
/// </summary>
internal sealed record ChunkRequest
{
    public required string Target { get; init; }

    /// <summary>Client identifier of the file (Resumable.js default: size-relativePath).</summary>
    public required string Identifier { get; init; }
    public string? FileName { get; init; }
    public string? ContentType { get; init; }

    /// <summary>Owner id of the caller (UploadPrincipals.OwnerOf), or empty: part of the identity, so principals never share an upload.</summary>
    public string Principal { get; init; } = "";

    /// <summary>The caller's claims for the engine at creation (<c>{claim:NAME}</c> in key templates, hooks, per-client limits); null: none.</summary>
    public System.Security.Claims.ClaimsPrincipal? User { get; init; }

    public required long ChunkNumber { get; init; }
    public required long ChunkSize { get; init; }
    public required long TotalSize { get; init; }
    public long? CurrentChunkSize { get; init; }
    public long? TotalChunks { get; init; }

    /// <summary>Body length when known up front (Content-Length of an octet-mode chunk).</summary>
    public long? ContentLength { get; init; }
}

/// <param name="Outcome">Success (also for a duplicate), or why not: <see cref="UploadOutcome.LengthMismatch"/> for
/// inconsistent fields or a body of the wrong size, <see cref="UploadOutcome.TooLarge"/> for limits,
/// <see cref="UploadOutcome.Conflict"/> for a race worth retrying, <see cref="UploadOutcome.Interrupted"/> when the body broke off.</param>
/// <param name="Upload">The upload the chunk belongs to, as it stands afterwards.</param>
/// <param name="Error">A short explanation for a refused chunk.</param>
/// <param name="ChunkStored">For a chunk test: the chunk is durably stored (or the upload is complete).</param>
/// <param name="Rejection">For <see cref="UploadOutcome.Rejected"/>: what the creation hook answered.</param>
internal sealed record ChunkResult(
    UploadOutcome Outcome, UploadRecord? Upload, string? Error = null, bool ChunkStored = false, StorageBridge.Hooks.UploadCreationRejection? Rejection = null)
{
    public bool IsComplete => Upload?.State == UploadState.Completed;
}
