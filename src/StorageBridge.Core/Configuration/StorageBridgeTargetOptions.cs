using StorageBridge.Targets;

namespace StorageBridge.Configuration;

/// <summary>
/// Settings every target has (section <c>StorageBridge:Targets:{name}</c>); each backend's options add its own keys.
/// Bound as named options: the name is the target's name.
/// </summary>
public class StorageBridgeTargetOptions
{
    /// <summary><c>MaxUploadSize</c>: largest upload; unset: no limit (part-tracking backends: MaxParts x PartSize).</summary>
    public ByteSize? MaxUploadSize { get; set; }

    /// <summary><c>MinAppendSize</c>: smallest non-final append.</summary>
    public ByteSize? MinAppendSize { get; set; }

    /// <summary><c>MaxAppendSize</c>: largest append (more than 0).</summary>
    public ByteSize? MaxAppendSize { get; set; }

    /// <summary><c>PartSize</c>: part (and append buffer) size; unset: the backend's default.</summary>
    public ByteSize? PartSize { get; set; }

    /// <summary><c>MaxConcurrentParts</c>: part writes of one append at once (0..16; in-place backends 0 or 1).</summary>
    public int? MaxConcurrentParts { get; set; }

    /// <summary><c>Expiration</c>: lifetime of an incomplete upload (default 1d; <see cref="Duration.None"/>: never).</summary>
    public Duration? Expiration { get; set; }

    /// <summary><c>InterimResponses</c>: send 104 interim responses (default true).</summary>
    public bool InterimResponses { get; set; } = true;

    /// <summary><c>OnCancelCompleted</c>: <c>KeepObject</c> (default) or <c>DeleteObject</c>, what a DELETE of a completed upload does to its object.</summary>
    public CompletedUploadCancellation OnCancelCompleted { get; set; } = CompletedUploadCancellation.KeepObject;

    /// <summary><c>KeyTemplate</c>: object key layout with {id} (required), {filename}, {yyyy}, {MM}, {dd}, {target}.</summary>
    public string KeyTemplate { get; set; } = "{id}";

    /// <summary><c>Prefix</c>: put before every object key.</summary>
    public string Prefix { get; set; } = "";

    /// <summary><c>StagingDirectory</c>: tails on this machine's disk instead of the backend (single instance only).</summary>
    public string? StagingDirectory { get; set; }

    /// <summary><c>Limits</c>: quotas and abuse limits (rates, open uploads, metadata and concatenation sizes).</summary>
    public TargetLimitOptions Limits { get; set; } = new();

    /// <summary>The backend-independent settings the engine reads.</summary>
    public UploadTargetOptions ToUploadTargetOptions(string backendName)
    {
        var defaults = new UploadTargetOptions { Backend = backendName };
        return defaults with
        {
            MaxUploadSize = MaxUploadSize?.Bytes,
            MinAppendSize = MinAppendSize?.Bytes,
            MaxAppendSize = MaxAppendSize?.Bytes,
            PartSize = PartSize is { } part ? (int)Math.Min(part.Bytes, int.MaxValue) : null,
            MaxConcurrentParts = MaxConcurrentParts,
            Expiration = Expiration is { } expiration ? expiration.Value : defaults.Expiration,
            InterimResponses = InterimResponses,
            OnCancelCompleted = OnCancelCompleted,
            KeyTemplate = string.IsNullOrEmpty(KeyTemplate) ? defaults.KeyTemplate : KeyTemplate,
            Prefix = Prefix ?? "",
            Quotas = (Limits ?? new TargetLimitOptions()).ToQuotas(),
        };
    }
}
