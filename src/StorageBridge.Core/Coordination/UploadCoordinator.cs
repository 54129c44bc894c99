using Microsoft.Extensions.Logging;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// The protocol-neutral upload engine: creates uploads, streams appends into backend parts and tails, completes,
/// cancels and expires them. The metadata store's compare-and-swap is the only synchronisation between instances.
/// Expected outcomes are returned as <see cref="UploadOutcome"/>; backend or store outages are exceptions.
/// </summary>
public sealed class UploadCoordinator
{
    private readonly UploadTargetRegistry _targets;
    private readonly IUploadMetadataStore _store;
    private readonly ILogger<UploadCoordinator> _logger;
    private readonly EngineContext _engine;
    private readonly UploadAdmission _admission;
    private readonly UploadLeases _leases;
    private readonly UploadCompletion _completion;
    private readonly ExpirySweeper _expiry;
    private readonly UploadConcatenation _concatenation;
    private readonly AppendPipeline _append;

    public UploadCoordinator(
        UploadTargetRegistry targets,
        IUploadMetadataStore store,
        StorageBridgeEngineOptions options,
        TimeProvider time,
        ILogger<UploadCoordinator> logger,
        StorageBridgeMetrics? metrics = null,
        IEnumerable<Hooks.IUploadCreationHook>? creationHooks = null)
    {
        _targets = targets;
        // Every store call of the engine is traced and measured (and costs nothing more when nobody listens).
        _store = new InstrumentedMetadataStore(store, metrics ?? StorageBridgeMetrics.Default);
        _logger = logger;
        _engine = new EngineContext(targets, _store, options, time, logger, metrics)
        {
            CreationHooks = creationHooks is null ? Hooks.UploadCreationHooks.None : new Hooks.UploadCreationHooks(creationHooks, logger),
        };
        _admission = new UploadAdmission(_engine);
        _leases = new UploadLeases(_engine);
        _completion = new UploadCompletion(_engine);
        _expiry = new ExpirySweeper(_engine, _leases, _completion);
        _concatenation = new UploadConcatenation(_engine, _completion);
        _append = new AppendPipeline(_engine, _admission, _leases, _completion);
        Assembler = new UploadAssembler(_engine, _admission, _leases, _completion, _append);
    }

    public UploadTargetRegistry Targets => _targets;

    /// <summary>
    /// Raised (with the upload id) after this engine recorded a completion event in an upload's outbox, so a local
    /// dispatcher can deliver it at once instead of at its next poll.
    /// </summary>
    public event Action<string>? CompletionEventRecorded
    {
        add => _engine.CompletionEventRecorded += value;
        remove => _engine.CompletionEventRecorded -= value;
    }

    /// <summary>
    /// Builds uploads from pieces that arrive out of order (unordered parts, staged bytes appended in order), sharing
    /// this engine's leases, buffers and completion.
    /// </summary>
    public UploadAssembler Assembler { get; }

    /// <summary>Part buffers this coordinator holds (accounting for tests of the memory bound).</summary>
    internal PartBufferPool PartBuffers => _engine.PartBuffers;

    /// <summary>Recent tail objects in memory (for tests of the cache and its bound).</summary>
    internal TailSegmentCache TailCache => _engine.TailCache;

    public Task<CreateResult> CreateAsync(CreateUploadRequest request, CancellationToken cancellationToken) =>
        _admission.CreateAsync(request, UploadIds.New(), assembled: false, cancellationToken);

    /// <summary>Current state of an upload, as an anonymous caller sees it (<see cref="GetAsync(string, string, string?, CancellationToken)"/>).</summary>
    public Task<UploadQueryResult> GetAsync(string target, string id, CancellationToken cancellationToken) =>
        GetAsync(target, id, owner: null, cancellationToken);

    /// <summary>
    /// Current state of an upload. Ends any append in flight in this process first, so the offset is final. An upload
    /// of another owner is <see cref="UploadOutcome.NotFound"/>, and its running append is left alone.
    /// </summary>
    public async Task<UploadQueryResult> GetAsync(string target, string id, string? owner, CancellationToken cancellationToken)
    {
        if (!UploadIds.IsWellFormed(id) || _targets.Find(target) is null)
        {
            return new UploadQueryResult(UploadOutcome.NotFound, null);
        }

        // Whose it is, before anything running is ended: only the owner's requests may take over a running append. With
        // none running here, the load below decides (one store read, as before owners existed).
        if (_leases.IsActiveHere(id)
            && await _engine.LoadForAsync(target, id, owner, cancellationToken).ConfigureAwait(false) is null)
        {
            return new UploadQueryResult(UploadOutcome.NotFound, null);
        }

        // Ended first, then read: the record must be the one after what was running here stopped (a record read before
        // could still say Completing for a completion that has since finished, and finishing it again would race it).
        await _leases.EndActiveAsync(id, cancellationToken).ConfigureAwait(false);
        var record = await _engine.LoadAsync(target, id, cancellationToken).ConfigureAwait(false);
        if (record is null || !EngineContext.MayAccess(record, owner))
        {
            return new UploadQueryResult(UploadOutcome.NotFound, null);
        }

        if (record.State == UploadState.Completing && !_leases.HeldByOther(record))
        {
            record = await _completion.FinishAsync(record, cancellationToken).ConfigureAwait(false) ?? record;
        }

        return new UploadQueryResult(_engine.StateOutcome(record) ?? UploadOutcome.Success, record);
    }

    /// <summary>
    /// Cancels an upload: the record becomes a tombstone (410) and every stored byte is dropped. A completed upload is
    /// deactivated the same way; its object stays unless the target says otherwise (<see cref="UploadTargetOptions.OnCancelCompleted"/>).
    /// </summary>
    public Task<UploadQueryResult> CancelAsync(string target, string id, CancellationToken cancellationToken) =>
        CancelAsync(target, id, owner: null, cancellationToken);

    /// <summary>As <see cref="CancelAsync(string, string, CancellationToken)"/> for <paramref name="owner"/>: another owner's upload is <see cref="UploadOutcome.NotFound"/>, untouched.</summary>
    public async Task<UploadQueryResult> CancelAsync(string target, string id, string? owner, CancellationToken cancellationToken)
    {
        if (!UploadIds.IsWellFormed(id) || _targets.Find(target) is not { } uploadTarget)
        {
            return new UploadQueryResult(UploadOutcome.NotFound, null);
        }

        if (await _engine.LoadForAsync(target, id, owner, cancellationToken).ConfigureAwait(false) is null)
        {
            return new UploadQueryResult(UploadOutcome.NotFound, null);
        }

        using var operation = await _leases.BeginAsync(id, cancellationToken).ConfigureAwait(false);
        if (operation is null)
        {
            return new UploadQueryResult(UploadOutcome.Conflict, null);
        }

        while (true)
        {
            var record = await _engine.LoadAsync(target, id, cancellationToken).ConfigureAwait(false);
            if (record is null)
            {
                return new UploadQueryResult(UploadOutcome.NotFound, null);
            }

            if (record.State is UploadState.Cancelled or UploadState.Expired)
            {
                return new UploadQueryResult(UploadOutcome.Gone, record);
            }

            var written = await _store.TryReplaceAsync(_engine.Tombstone(record, UploadState.Cancelled), cancellationToken).ConfigureAwait(false);
            if (written.Status != MetadataWriteStatus.Success)
            {
                continue;
            }

            _engine.Metrics.UploadsCancelled.Add(1, new KeyValuePair<string, object?>("target", uploadTarget.Name));
            if (record.State is UploadState.Completed)
            {
                // Nothing is staged any more (abort never touches a committed object): only the object's fate is left.
                var delete = uploadTarget.Options.OnCancelCompleted == CompletedUploadCancellation.DeleteObject;
                if (delete)
                {
                    await uploadTarget.Backend.DeleteObjectAsync(record.ObjectKey, cancellationToken).ConfigureAwait(false);
                }

                EngineLog.CompletedUploadCancelled(_logger, id, record.ObjectKey, delete);
                return new UploadQueryResult(UploadOutcome.Success, written.Record);
            }

            await _engine.AbortAsync(uploadTarget, written.Record!, cancellationToken).ConfigureAwait(false);
            EngineLog.UploadCancelled(_logger, id);
            return new UploadQueryResult(UploadOutcome.Success, written.Record);
        }
    }

    /// <summary>Opens a completed upload's object for download, optionally a byte range, for an anonymous caller.</summary>
    public Task<DownloadResult> OpenDownloadAsync(string target, string id, long offset, long? length, CancellationToken cancellationToken) =>
        OpenDownloadAsync(target, id, offset, length, owner: null, cancellationToken);

    /// <summary>Opens a completed upload's object for download, optionally a byte range; another owner's upload is <see cref="UploadOutcome.NotFound"/>.</summary>
    public async Task<DownloadResult> OpenDownloadAsync(string target, string id, long offset, long? length, string? owner, CancellationToken cancellationToken)
    {
        if (!UploadIds.IsWellFormed(id) || _targets.Find(target) is not { } uploadTarget)
        {
            return new DownloadResult(UploadOutcome.NotFound, null);
        }

        var record = await _engine.LoadForAsync(target, id, owner, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return new DownloadResult(UploadOutcome.NotFound, null);
        }

        if (record.State != UploadState.Completed)
        {
            return new DownloadResult(_engine.StateOutcome(record) ?? UploadOutcome.Conflict, record);
        }

        var total = record.Offset;
        var count = Math.Min(length ?? total - offset, total - offset);
        var stream = await uploadTarget.Backend.OpenReadAsync(record.ObjectKey, offset, count, cancellationToken).ConfigureAwait(false);
        return new DownloadResult(UploadOutcome.Success, record, stream, offset, count);
    }

    /// <summary>
    /// Appends a request body. The body is read in part-sized chunks; full parts go to the backend as they fill,
    /// a remainder short of the backend's minimum becomes the durable tail. If the body ends early the received
    /// prefix is kept. With <see cref="AppendRequest.ContentDigest"/> nothing is recorded until the digest matched.
    /// </summary>
    /// <summary>
    /// For a graceful shutdown: every append running in this process stops reading its body, stores what it received
    /// (parts and tail, recorded by compare-and-swap) and answers with that offset, as when a newer request takes the
    /// upload over; appends that start later end the same way at once. Completes when all have let go, or throws when
    /// <paramref name="cancellationToken"/> (the host's shutdown timeout) fires first.
    /// </summary>
    public Task InterruptAppendsAsync(CancellationToken cancellationToken) => _leases.EndAllActiveAsync(cancellationToken);

    public Task<AppendResult> AppendAsync(AppendRequest request, Stream body, CancellationToken cancellationToken) =>
        _append.AppendAsync(request, body, default, cancellationToken);

    /// <summary>Expires due uploads, forgets old tombstones and expired lookups. Returns how many records were handled.</summary>
    public async Task<int> CleanupExpiredAsync(CancellationToken cancellationToken)
    {
        var handled = await _expiry.CleanupExpiredAsync(cancellationToken).ConfigureAwait(false);
        return handled + await _expiry.SweepExpiredLookupsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether the target's backend can join completed uploads into a new one (<see cref="ConcatenateAsync"/>).</summary>
    public bool SupportsConcatenation(string target) => _concatenation.IsSupported(target);

    /// <summary>
    /// Creates a completed upload whose object is the given completed uploads joined in order. The record is written
    /// only after the backend committed the object, so a failure leaves no half-made upload (at most an orphan object).
    /// </summary>
    public Task<CreateResult> ConcatenateAsync(ConcatenateRequest request, CancellationToken cancellationToken) =>
        _concatenation.ConcatenateAsync(request, cancellationToken);

    /// <summary>Largest total size accepted by this target (declared up front, or discovered while streaming).</summary>
    public static long MaxLength(UploadTarget target, bool declared) => UploadAdmission.MaxLength(target, declared);
}
