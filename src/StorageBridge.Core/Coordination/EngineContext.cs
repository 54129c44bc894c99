using Microsoft.Extensions.Logging;
using StorageBridge.Backends;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// What the parts of the engine share: targets, store, clock, options, logger, the memory they account for (part
/// buffers, cached tail bytes), and the rules on a record's state that each of them must apply alike.
/// </summary>
internal sealed class EngineContext
{
    // Writes of bytes that already arrived must finish even when the client is gone: that is what keeps them.
    public static readonly TimeSpan SalvageTimeout = TimeSpan.FromMinutes(2);

    public EngineContext(UploadTargetRegistry targets, IUploadMetadataStore store, StorageBridgeEngineOptions options, TimeProvider time, ILogger logger, StorageBridgeMetrics? metrics = null)
    {
        Metrics = metrics ?? StorageBridgeMetrics.Default;
        Targets = targets;
        Store = store;
        Options = options;
        Time = time;
        Logger = logger;
        TailCache = new TailSegmentCache(options.TailCacheSize, Metrics);
    }

    public UploadTargetRegistry Targets { get; }

    public IUploadMetadataStore Store { get; }

    public StorageBridgeEngineOptions Options { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public StorageBridgeMetrics Metrics { get; }

    /// <summary>Part buffers of this engine (accounting for tests of the memory bound).</summary>
    public PartBufferPool PartBuffers { get; } = new();

    /// <summary>Recent tail objects in memory; whatever drops an upload's tails drops its entries too.</summary>
    public TailSegmentCache TailCache { get; }

    /// <summary>Hooks asked before an upload is created (none unless registered).</summary>
    public Hooks.UploadCreationHooks CreationHooks { get; init; } = Hooks.UploadCreationHooks.None;

    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Raised with the upload id after a write that recorded a completion event (wakes the local dispatcher).</summary>
    public event Action<string>? CompletionEventRecorded;

    /// <summary>Tells listeners when <paramref name="written"/> holds a completion event to deliver.</summary>
    public void OnCompletionWritten(UploadRecord? written)
    {
        if (written?.Outbox is not null)
        {
            CompletionEventRecorded?.Invoke(written.Id);
        }
    }

    /// <summary>The upload, when it exists and belongs to <paramref name="target"/>.</summary>
    public async Task<UploadRecord?> LoadAsync(string target, string id, CancellationToken cancellationToken)
    {
        var record = await Store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        return record is not null && string.Equals(record.Target, target, StringComparison.OrdinalIgnoreCase) ? record : null;
    }

    /// <summary>
    /// Whether <paramref name="owner"/> (null: anonymous) may see the upload: an anonymous upload anyone, an owned one
    /// only its owner. Every other caller is answered as if the upload did not exist.
    /// </summary>
    public static bool MayAccess(UploadRecord record, string? owner) =>
        record.Owner is null || string.Equals(record.Owner, owner, StringComparison.Ordinal);

    /// <summary>The upload, when it exists, belongs to <paramref name="target"/> and <paramref name="owner"/> may see it.</summary>
    public async Task<UploadRecord?> LoadForAsync(string target, string id, string? owner, CancellationToken cancellationToken)
    {
        var record = await LoadAsync(target, id, cancellationToken).ConfigureAwait(false);
        return record is not null && MayAccess(record, owner) ? record : null;
    }

    /// <summary>Outcome implied by the record's state alone, or null when it is open for business.</summary>
    public UploadOutcome? StateOutcome(UploadRecord record) => record.State switch
    {
        UploadState.Cancelled or UploadState.Expired => UploadOutcome.Gone,
        UploadState.Open when record.ExpiresAt is { } expires && expires <= Now => UploadOutcome.Gone,
        _ => null,
    };

    /// <summary>A cancelled or expired upload: answers 410 until TombstoneRetention passes, then it is forgotten.</summary>
    public UploadRecord Tombstone(UploadRecord record, UploadState state) => record with
    {
        State = state,
        ExpiresAt = Now + Options.TombstoneRetention,
        UpdatedAt = Now,
        LeaseOwner = null,
        LeaseUntil = null,
    };

    /// <summary>
    /// Ends the backend session (its staging objects included), removes tails kept outside the backend and forgets the
    /// upload's cached tail bytes.
    /// </summary>
    public async Task AbortAsync(UploadTarget target, UploadRecord record, CancellationToken cancellationToken)
    {
        TailCache.RemoveUpload(record.Id);
        using (var call = EngineActivities.StartBackendCall(Metrics, "Abort", target, record.Id))
        {
            await EngineActivities.Track(call, target.Backend.AbortAsync(BackendUpload.From(record), cancellationToken)).ConfigureAwait(false);
        }

        await target.Tails.DeleteAllAsync(record.Id, cancellationToken).ConfigureAwait(false);
    }
}
