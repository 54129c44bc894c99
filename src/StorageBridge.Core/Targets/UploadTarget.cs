using StorageBridge.Backends;

namespace StorageBridge.Targets;

/// <summary>Limits a target advertises (IETF Upload-Limit, tus Tus-Max-Size) and enforces. Null means no limit.</summary>
public sealed record UploadLimits(long? MaxSize, long MinSize, long? MaxAppendSize, long? MinAppendSize);

/// <summary>A configured destination: one backend plus its limits and behaviour. Immutable after start-up.</summary>
public sealed class UploadTarget
{
    public UploadTarget(string name, IUploadBackend backend, UploadTargetOptions options, ITailStore? tails = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        Backend = backend;
        Options = options;
        Shape = UploadShape.Of(backend);
        Tails = tails ?? backend.Tails;
        PartSize = options.PartSize ?? backend.Capabilities.DefaultPartSize;
        MaxConcurrentParts = Math.Min(options.MaxConcurrentParts ?? Shape.Capabilities.DefaultConcurrentParts, Shape.MaxConcurrentPartsLimit);
        var partCap = Shape.MaxUploadSize(PartSize);
        var maxSize = (options.MaxUploadSize, partCap) switch
        {
            (null, null) => (long?)null,
            (null, var p) => p,
            (var m, null) => m,
            (var m, var p) => Math.Min(m!.Value, p!.Value),
        };
        Limits = new UploadLimits(maxSize, 0, options.MaxAppendSize, options.MinAppendSize);
    }

    public string Name { get; }
    public IUploadBackend Backend { get; }

    /// <summary>How the backend holds bytes (recorded parts or in place), decided once here.</summary>
    internal UploadShape Shape { get; }

    /// <summary>
    /// The one place tails and staged chunks go: the backend's staging objects (<see cref="IUploadBackend.Tails"/>)
    /// unless <c>StagingDirectory</c> is set.
    /// </summary>
    public ITailStore Tails { get; }

    public UploadTargetOptions Options { get; }
    public UploadLimits Limits { get; }

    /// <summary>Most parts that may be written at once (0..16).</summary>
    public const int MaxConcurrentPartsLimit = 16;

    /// <summary>Configured part size (before growth for large declared lengths).</summary>
    public int PartSize { get; }

    /// <summary>
    /// Part writes of one append that may run while the next part is read from the request (0: write, then read on).
    /// Memory per append is at most (this + 1) part buffers.
    /// </summary>
    public int MaxConcurrentParts { get; }

    public TimeSpan? Expiration => Options.Expiration;
}

/// <summary>Backend-independent settings of a target (section <c>StorageBridge:Targets:{name}</c>).</summary>
public sealed record UploadTargetOptions
{
    public required string Backend { get; init; }
    public long? MaxUploadSize { get; init; }
    public long? MinAppendSize { get; init; }
    public long? MaxAppendSize { get; init; }
    public int? PartSize { get; init; }

    /// <summary>Part writes of one append running at once while the next part is read; null: the backend's default.</summary>
    public int? MaxConcurrentParts { get; init; }

    /// <summary>Lifetime of an incomplete upload; null: never expires.</summary>
    public TimeSpan? Expiration { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Send 104 (Upload Resumption Supported) interim responses. Off behind proxies/hosts that cannot forward 1xx.</summary>
    public bool InterimResponses { get; init; } = true;

    /// <summary>What cancelling (DELETE) a completed upload does to its object; the upload itself is deactivated either way.</summary>
    public CompletedUploadCancellation OnCancelCompleted { get; init; } = CompletedUploadCancellation.KeepObject;

    /// <summary>Object key layout: {id}, {filename}, {yyyy}, {MM}, {dd}, {target}, {claim:NAME}. Default "{id}".</summary>
    public string KeyTemplate { get; init; } = "{id}";

    /// <summary>Put before every object key; may name claims too ({claim:tenant}/).</summary>
    public string Prefix { get; init; } = "";

    /// <summary>
    /// Whether <paramref name="principal"/> can fill every <c>{claim:NAME}</c> of <see cref="Prefix"/> and
    /// <see cref="KeyTemplate"/>: it holds each such claim once, as a safe single path segment. Creations by anyone
    /// else are refused (<see cref="Coordination.UploadOutcome.Forbidden"/>).
    /// </summary>
    public bool AcceptsKeyClaimsOf(System.Security.Claims.ClaimsPrincipal? principal) =>
        ObjectKeys.FillClaims(Prefix, principal) is not null && ObjectKeys.FillClaims(KeyTemplate, principal) is not null;

    /// <summary>Quotas and abuse limits (<c>Limits</c>: rates, open uploads, metadata, concatenation).</summary>
    public TargetQuotas Quotas { get; init; } = new();

    /// <summary>True when <see cref="MaxUploadSize"/> is the default cap of an exposed service, not a configured value.</summary>
    public bool MaxUploadSizeDefaulted { get; init; }
}

/// <summary>What cancelling a completed upload does to the object it committed.</summary>
public enum CompletedUploadCancellation
{
    /// <summary>The object stays; only the upload resource is deactivated (the default).</summary>
    KeepObject,

    /// <summary>The object is deleted from the backend too.</summary>
    DeleteObject,
}
