using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>Expected outcomes of coordinator operations. Front-ends map these to their protocol's status codes.</summary>
public enum UploadOutcome
{
    Success,
    TargetNotFound,
    NotFound,
    /// <summary>The upload existed but was cancelled or expired.</summary>
    Gone,
    OffsetMismatch,
    AlreadyCompleted,
    /// <summary>The upload or the append exceeds a size limit (<see cref="AppendResult.Limit"/> says which).</summary>
    TooLarge,
    /// <summary>The append is below the target's min-append-size.</summary>
    TooSmall,
    /// <summary>Length indications disagree, or data would pass the declared length.</summary>
    LengthMismatch,
    /// <summary>Content-Digest of one append, or the whole-upload digest, did not match. Nothing was appended.</summary>
    DigestMismatch,
    /// <summary>The request body ended early (client gone, or the request was taken over). The received prefix was kept.</summary>
    Interrupted,
    /// <summary>Another writer changed the upload and the operation could not proceed.</summary>
    Conflict,
    /// <summary>The target's backend lacks the capability the operation needs (e.g. concatenation).</summary>
    NotSupported,
    /// <summary>Another object already exists under the key and the target does not allow overwriting it. The upload stays open.</summary>
    ObjectExists,
    /// <summary>A source upload of a concatenation is not completed yet.</summary>
    IncompleteSource,

    /// <summary>
    /// The caller may not do this: a claim the target's key template or prefix names is missing or not a safe path
    /// segment, or <see cref="AppendRequest.AuthorizeCompletion"/> refused (the bytes received are kept, the upload
    /// stays open).
    /// </summary>
    Forbidden,

    /// <summary>A creation hook refused the creation (<see cref="CreateResult.Rejection"/>: status and message). Nothing was stored.</summary>
    Rejected,

    /// <summary>The creation's metadata or file name exceeds the target's limit (<see cref="CreateResult.Limit"/> says which). Nothing was stored.</summary>
    MetadataTooLarge,
    /// <summary>The principal already has <c>MaxOpenUploads</c> open uploads on the target. Nothing was stored.</summary>
    TooManyOpenUploads,
    /// <summary>A concatenation names more sources than <c>MaxConcatSources</c>. Nothing was stored.</summary>
    TooManySources,
}

public enum LimitKind
{
    None,
    MaxSize,
    MaxAppendSize,
    MinAppendSize,
    MaxMetadataSize,
    MaxFileNameLength,
    MaxOpenUploads,
    MaxConcatSources,
}

/// <summary>A digest: algorithm name as in the RFC 9530 registry ("sha-256", "sha-512", "sha", "md5") and the raw digest bytes.</summary>
public sealed record DigestValue(string Algorithm, byte[] Value)
{
    public const string Sha256 = "sha-256";
    public const string Sha512 = "sha-512";

    /// <summary>SHA-1 (registry name "sha"): insecure, accepted only as a per-append integrity check some clients send.</summary>
    public const string Sha1 = "sha";

    /// <summary>MD5: insecure, accepted only as a per-append integrity check some clients send.</summary>
    public const string Md5 = "md5";

    /// <summary>Whether <see cref="UploadCoordinator.AppendAsync(AppendRequest, Stream, CancellationToken)"/> can check an append against this algorithm.</summary>
    public static bool IsSupportedForAppend(string algorithm) => algorithm is Sha256 or Sha512 or Sha1 or Md5;

    /// <summary>Digest size in bytes of a supported algorithm, 0 otherwise.</summary>
    public static int SizeOf(string algorithm) => algorithm switch
    {
        Sha256 => 32,
        Sha512 => 64,
        Sha1 => 20,
        Md5 => 16,
        _ => 0,
    };
}

public sealed record CreateUploadRequest
{
    public required string Target { get; init; }
    public string Protocol { get; init; } = "ietf";

    /// <summary>Principal creating the upload, recorded as <see cref="UploadRecord.Owner"/> (null: anonymous).</summary>
    public string? Owner { get; init; }

    /// <summary>The authenticated caller (claims for creation hooks and key templates); null: anonymous or unknown.</summary>
    public System.Security.Claims.ClaimsPrincipal? Principal { get; init; }
    public long? Length { get; init; }
    public string? ContentType { get; init; }
    public string? FileName { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    public IReadOnlyDictionary<string, string>? ProtocolState { get; init; }

    /// <summary>Whole-upload digest to verify at completion (Repr-Digest).</summary>
    public DigestValue? ExpectedDigest { get; init; }

    /// <summary>Keep a running SHA-256 so the completed upload can report its digest (Want-Repr-Digest).</summary>
    public bool TrackSha256 { get; init; }
}

public sealed record CreateResult(UploadOutcome Outcome, UploadRecord? Upload, LimitKind Limit = LimitKind.None)
{
    /// <summary>For <see cref="UploadOutcome.Rejected"/>: the status and message the client receives.</summary>
    public Hooks.UploadCreationRejection? Rejection { get; init; }
}

public sealed record AppendRequest
{
    public required string Target { get; init; }
    public required string Id { get; init; }

    /// <summary>
    /// The caller's owner id (null: anonymous). An upload another principal created is answered as
    /// <see cref="UploadOutcome.NotFound"/>, before any running append is taken over.
    /// </summary>
    public string? Owner { get; init; }

    /// <summary>
    /// Asked right before the upload is committed (time of use, after the body streamed): false keeps the bytes
    /// received (the offset moves) but does not complete, and the append answers <see cref="UploadOutcome.Forbidden"/>.
    /// </summary>
    public Func<CancellationToken, ValueTask<bool>>? AuthorizeCompletion { get; init; }

    /// <summary>Offset the client believes the upload is at.</summary>
    public required long Offset { get; init; }

    /// <summary>This request carries the last byte: complete the upload once the body is in.</summary>
    public bool Complete { get; init; }

    /// <summary>Total length stated by this request (Upload-Length), if any.</summary>
    public long? DeclaredLength { get; init; }

    /// <summary>Body length when known up front (Content-Length); never trusted for correctness, only for early rejects.</summary>
    public long? ContentLength { get; init; }

    /// <summary>Digest of this request's body (Content-Digest); on mismatch nothing is appended.</summary>
    public DigestValue? ContentDigest { get; init; }

    /// <summary>Creation requests are exempt from min-append-size when empty.</summary>
    public bool IsCreation { get; init; }

    /// <summary>
    /// Reaching the upload's known length completes it even without <see cref="Complete"/> (tus, Resumable.js: no
    /// byte can follow). False for the IETF draft, where only the client's completion flag completes an upload.
    /// </summary>
    public bool CompletesAtLength { get; init; } = true;

    /// <summary>
    /// Data past the known length invalidates the upload (IETF draft): it is cancelled, its bytes and backend session
    /// dropped, and every later request answered as for a cancelled upload. Otherwise only this append is refused.
    /// </summary>
    public bool InvalidatesPastLength { get; init; }

    /// <summary>
    /// Told the upload's offset each time appended bytes are recorded durably while the body streams (the offset a
    /// HEAD would report). Called on the append's own flow, between two reads of the body, never concurrently.
    /// </summary>
    public IProgress<long>? Progress { get; init; }
}

/// <param name="Upload">The record as it stands after the operation (for offsets and headers), when it exists.</param>
/// <param name="ExpectedOffset">For <see cref="UploadOutcome.OffsetMismatch"/>: the offset the server holds.</param>
public sealed record AppendResult(UploadOutcome Outcome, UploadRecord? Upload, long? ExpectedOffset = null, LimitKind Limit = LimitKind.None);

public sealed record UploadQueryResult(UploadOutcome Outcome, UploadRecord? Upload);

/// <summary>A readable completed object: <see cref="Content"/> covers [<see cref="Offset"/>, Offset + Length).</summary>
public sealed record DownloadResult(UploadOutcome Outcome, UploadRecord? Upload, Stream? Content = null, long Offset = 0, long Length = 0);

/// <summary>
/// Creates a completed upload whose object is the concatenation of completed source uploads of the same target,
/// in the given order. Needs a backend with <see cref="Backends.IUploadBackend.Concatenation"/>.
/// </summary>
public sealed record ConcatenateRequest
{
    public required string Target { get; init; }
    public required IReadOnlyList<string> SourceIds { get; init; }
    public string Protocol { get; init; } = "ietf";

    /// <summary>Principal creating the upload; every source must belong to it (null: anonymous sources only).</summary>
    public string? Owner { get; init; }

    /// <summary>The authenticated caller, as for <see cref="CreateUploadRequest.Principal"/>.</summary>
    public System.Security.Claims.ClaimsPrincipal? Principal { get; init; }
    public string? ContentType { get; init; }
    public string? FileName { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    public IReadOnlyDictionary<string, string>? ProtocolState { get; init; }
}
