using Microsoft.Extensions.Logging;
using StorageBridge.Backends;
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
public sealed partial class UploadCoordinator
{
    // Tail objects read back or deleted at once when a part forms from a segmented tail.
    private const int TailObjectsAtOnce = 8;

    // Bytes written in place (files, GCS) are recorded at most this far apart, to keep metadata writes rare.
    private const long InPlaceCommitInterval = 8L * 1024 * 1024;

    // Writes of bytes that already arrived must finish even when the client is gone: that is what keeps them.
    private static readonly TimeSpan SalvageTimeout = EngineContext.SalvageTimeout;

    private readonly UploadTargetRegistry _targets;
    private readonly IUploadMetadataStore _store;
    private readonly StorageBridgeEngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<UploadCoordinator> _logger;
    private readonly EngineContext _engine;
    private readonly UploadAdmission _admission;
    private readonly UploadLeases _leases;
    private readonly UploadCompletion _completion;
    private readonly ExpirySweeper _expiry;
    private readonly UploadConcatenation _concatenation;

    public UploadCoordinator(
        UploadTargetRegistry targets,
        IUploadMetadataStore store,
        StorageBridgeEngineOptions options,
        TimeProvider time,
        ILogger<UploadCoordinator> logger)
    {
        _targets = targets;
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _engine = new EngineContext(targets, store, options, time, logger);
        _admission = new UploadAdmission(_engine);
        _leases = new UploadLeases(_engine);
        _completion = new UploadCompletion(_engine);
        _expiry = new ExpirySweeper(_engine, _leases, _completion);
        _concatenation = new UploadConcatenation(_engine, _completion);
    }

    public UploadTargetRegistry Targets => _targets;

    /// <summary>Part buffers this coordinator holds (accounting for tests of the memory bound).</summary>
    internal PartBufferPool PartBuffers => _engine.PartBuffers;

    /// <summary>Recent tail objects in memory (for tests of the cache and its bound).</summary>
    internal TailSegmentCache TailCache => _engine.TailCache;

    private DateTimeOffset Now => _engine.Now;

    private Task AbortAsync(UploadTarget target, UploadRecord record, CancellationToken cancellationToken) =>
        _engine.AbortAsync(target, record, cancellationToken);

    public Task<CreateResult> CreateAsync(CreateUploadRequest request, CancellationToken cancellationToken) =>
        CreateWithIdAsync(request, UploadIds.New(), cancellationToken);

    /// <summary>Creates an upload under an id the caller drew (<see cref="UploadIds.New"/>), e.g. one a lookup record already names.</summary>
    private Task<CreateResult> CreateWithIdAsync(CreateUploadRequest request, string id, CancellationToken cancellationToken) =>
        _admission.CreateAsync(request, id, cancellationToken);

    /// <summary>Current state of an upload. Ends any append in flight in this process first, so the offset is final.</summary>
    public async Task<UploadQueryResult> GetAsync(string target, string id, CancellationToken cancellationToken)
    {
        if (!UploadIds.IsWellFormed(id) || _targets.Find(target) is null)
        {
            return new UploadQueryResult(UploadOutcome.NotFound, null);
        }

        await _leases.EndActiveAsync(id, cancellationToken).ConfigureAwait(false);
        var record = await LoadAsync(target, id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return new UploadQueryResult(UploadOutcome.NotFound, null);
        }

        if (record.State == UploadState.Completing && !LeaseHeldByOther(record))
        {
            record = await FinishCompletionAsync(record, cancellationToken).ConfigureAwait(false) ?? record;
        }

        return new UploadQueryResult(StateOutcome(record) ?? UploadOutcome.Success, record);
    }

    /// <summary>Cancels an upload: the record becomes a tombstone (410) and every stored byte is dropped.</summary>
    public async Task<UploadQueryResult> CancelAsync(string target, string id, CancellationToken cancellationToken)
    {
        if (!UploadIds.IsWellFormed(id) || _targets.Find(target) is not { } uploadTarget)
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
            var record = await LoadAsync(target, id, cancellationToken).ConfigureAwait(false);
            if (record is null)
            {
                return new UploadQueryResult(UploadOutcome.NotFound, null);
            }

            if (record.State is UploadState.Completed)
            {
                return new UploadQueryResult(UploadOutcome.AlreadyCompleted, record);
            }

            if (record.State is UploadState.Cancelled or UploadState.Expired)
            {
                return new UploadQueryResult(UploadOutcome.Gone, record);
            }

            var written = await _store.TryReplaceAsync(Tombstone(record, UploadState.Cancelled), cancellationToken).ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                await AbortAsync(uploadTarget, written.Record!, cancellationToken).ConfigureAwait(false);
                EngineLog.UploadCancelled(_logger, id);
                return new UploadQueryResult(UploadOutcome.Success, written.Record);
            }
        }
    }

    /// <summary>Opens a completed upload's object for download, optionally a byte range.</summary>
    public async Task<DownloadResult> OpenDownloadAsync(string target, string id, long offset, long? length, CancellationToken cancellationToken)
    {
        if (!UploadIds.IsWellFormed(id) || _targets.Find(target) is not { } uploadTarget)
        {
            return new DownloadResult(UploadOutcome.NotFound, null);
        }

        var record = await LoadAsync(target, id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return new DownloadResult(UploadOutcome.NotFound, null);
        }

        if (record.State != UploadState.Completed)
        {
            return new DownloadResult(StateOutcome(record) ?? UploadOutcome.Conflict, record);
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
    public Task<AppendResult> AppendAsync(AppendRequest request, Stream body, CancellationToken cancellationToken) =>
        AppendAsync(request, body, default, cancellationToken);

    /// <summary>An append of the engine's own callers (the numbered-chunk path), with the options only they may set.</summary>
    internal async Task<AppendResult> AppendAsync(AppendRequest request, Stream body, AppendOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(body);
        var target = _targets.Find(request.Target);
        if (target is null || !UploadIds.IsWellFormed(request.Id))
        {
            return new AppendResult(target is null ? UploadOutcome.TargetNotFound : UploadOutcome.NotFound, null);
        }

        using var operation = await _leases.BeginAsync(request.Id, cancellationToken).ConfigureAwait(false);
        if (operation is null)
        {
            return new AppendResult(UploadOutcome.Conflict, null);
        }

        var record = await LoadAsync(request.Target, request.Id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return new AppendResult(UploadOutcome.NotFound, null);
        }

        if (record.State == UploadState.Completing && !LeaseHeldByOther(record))
        {
            record = await FinishCompletionAsync(record, cancellationToken).ConfigureAwait(false) ?? record;
        }

        var rejection = _admission.CheckAppend(target, record, request, options);
        if (rejection is not null)
        {
            return rejection;
        }

        (UploadRecord? Record, UploadOutcome Outcome, UploadRecord? Current) leased;
        try
        {
            leased = await _leases.AcquireAsync(record, request, options.YieldToOtherInstance, operation.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (operation.Token.IsCancellationRequested)
        {
            // Taken over (or the client left) while waiting for another instance's lease: nothing was written.
            return new AppendResult(UploadOutcome.Interrupted, record);
        }

        if (leased.Record is null)
        {
            return new AppendResult(leased.Outcome, leased.Current);
        }

        if (await _completion.ReconcileUnreleasedAsync(target, record, operation.Token).ConfigureAwait(false) is { } unusable)
        {
            return unusable;
        }

        using var activity = StorageBridgeTelemetry.ActivitySource.StartActivity("StorageBridge.Append");
        activity?.SetTag("storagebridge.upload_id", record.Id);
        var started = _time.GetTimestamp();
        var append = new AppendOperation(this, target, leased.Record, request);
        try
        {
            var result = await append.RunAsync(body, operation.Token).ConfigureAwait(false);
            StorageBridgeTelemetry.AppendDuration.Record(_time.GetElapsedTime(started).TotalSeconds);
            return result;
        }
        catch (UploadSessionGoneException)
        {
            return await _completion.ExpireLostSessionAsync(target, request.Id, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectExistsException)
        {
            // A backend whose last part write is the commit (GCS's final chunk): what was recorded is kept.
            return new AppendResult(UploadOutcome.ObjectExists, await _store.GetAsync(request.Id, cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            append.Dispose();
        }
    }

    /// <summary>Expires due uploads and forgets old tombstones. Returns how many records were handled.</summary>
    public Task<int> CleanupExpiredAsync(CancellationToken cancellationToken) => _expiry.CleanupExpiredAsync(cancellationToken);

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

    private Task<UploadRecord?> LoadAsync(string target, string id, CancellationToken cancellationToken) =>
        _engine.LoadAsync(target, id, cancellationToken);

    private UploadOutcome? StateOutcome(UploadRecord record) => _engine.StateOutcome(record);

    private bool LeaseHeldByOther(UploadRecord record) => _leases.HeldByOther(record);

    /// <summary>Finishes a completion interrupted between the backend commit and the metadata write (idempotent commit).</summary>
    private Task<UploadRecord?> FinishCompletionAsync(UploadRecord record, CancellationToken cancellationToken) =>
        _completion.FinishAsync(record, cancellationToken);

    private UploadRecord Tombstone(UploadRecord record, UploadState state) => _engine.Tombstone(record, state);
}
