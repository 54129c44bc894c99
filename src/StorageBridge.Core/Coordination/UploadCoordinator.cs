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
    private static readonly TimeSpan SalvageTimeout = TimeSpan.FromMinutes(2);

    private readonly UploadTargetRegistry _targets;
    private readonly IUploadMetadataStore _store;
    private readonly StorageBridgeEngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<UploadCoordinator> _logger;
    private readonly UploadActivityRegistry _activity = new();
    private readonly PartBufferPool _partBuffers = new();
    private readonly TailSegmentCache _tailCache;

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
        _tailCache = new TailSegmentCache(options.TailCacheSize);
    }

    public UploadTargetRegistry Targets => _targets;

    /// <summary>Part buffers this coordinator holds (accounting for tests of the memory bound).</summary>
    internal PartBufferPool PartBuffers => _partBuffers;

    /// <summary>Recent tail objects in memory (for tests of the cache and its bound).</summary>
    internal TailSegmentCache TailCache => _tailCache;

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>
    /// Ends the backend session (its staging objects included), removes tails kept outside the backend and forgets the
    /// upload's cached tail bytes.
    /// </summary>
    private async Task AbortAsync(UploadTarget target, UploadRecord record, CancellationToken cancellationToken)
    {
        _tailCache.RemoveUpload(record.Id);
        await target.Backend.AbortAsync(record, cancellationToken).ConfigureAwait(false);
        await target.Tails.DeleteAllAsync(record, cancellationToken).ConfigureAwait(false);
    }

    public Task<CreateResult> CreateAsync(CreateUploadRequest request, CancellationToken cancellationToken) =>
        CreateWithIdAsync(request, UploadIds.New(), cancellationToken);

    /// <summary>Creates an upload under an id the caller drew (<see cref="UploadIds.New"/>), e.g. one a lookup record already names.</summary>
    private async Task<CreateResult> CreateWithIdAsync(CreateUploadRequest request, string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var target = _targets.Find(request.Target);
        if (target is null)
        {
            return new CreateResult(UploadOutcome.TargetNotFound, null);
        }

        if (request.Length is long length)
        {
            if (length < 0)
            {
                return new CreateResult(UploadOutcome.LengthMismatch, null);
            }

            var cap = MaxLength(target, declared: true);
            if (length > cap)
            {
                return new CreateResult(UploadOutcome.TooLarge, null, LimitKind.MaxSize);
            }
        }

        using var activity = StorageBridgeTelemetry.ActivitySource.StartActivity("StorageBridge.Create");
        var now = Now;
        var record = new UploadRecord
        {
            Id = id,
            Target = target.Name,
            ObjectKey = ObjectKeys.Build(target.Options, target.Name, id, request.FileName, now),
            Protocol = request.Protocol,
            Length = request.Length,
            ContentType = request.ContentType,
            FileName = request.FileName,
            Metadata = request.Metadata ?? UploadRecord.EmptyMetadata,
            ProtocolState = request.ProtocolState ?? UploadRecord.EmptyMetadata,
            ExpectedDigestAlgorithm = request.ExpectedDigest?.Algorithm,
            ExpectedDigest = request.ExpectedDigest is { } digest ? Convert.ToBase64String(digest.Value) : null,
            HashState = request.TrackSha256 || request.ExpectedDigest is not null ? new Hashing.ResumableSha256().Export() : null,
            CreatedAt = now,
            UpdatedAt = now,
            ExpiresAt = now + target.Expiration,
        };
        try
        {
            record = record with { Session = await target.Backend.StartAsync(record, cancellationToken).ConfigureAwait(false) };
        }
        catch (ObjectExistsException)
        {
            // Backends that check preconditions when the native upload starts (GCS ifGenerationMatch=0).
            return new CreateResult(UploadOutcome.ObjectExists, null);
        }

        var created = await _store.CreateAsync(record, cancellationToken).ConfigureAwait(false);
        if (created.Status != MetadataWriteStatus.Success)
        {
            // 128 random bits do not collide; a conflict here means the store is misbehaving.
            throw new InvalidOperationException($"Metadata store refused to create upload {id}: {created.Status}.");
        }

        StorageBridgeTelemetry.UploadsCreated.Add(1, new KeyValuePair<string, object?>("target", target.Name));
        Log.UploadCreated(_logger, id, target.Name, request.Length);
        return new CreateResult(UploadOutcome.Success, created.Record);
    }

    /// <summary>Current state of an upload. Ends any append in flight in this process first, so the offset is final.</summary>
    public async Task<UploadQueryResult> GetAsync(string target, string id, CancellationToken cancellationToken)
    {
        if (!UploadIds.IsWellFormed(id) || _targets.Find(target) is null)
        {
            return new UploadQueryResult(UploadOutcome.NotFound, null);
        }

        await _activity.EndActiveAsync(id, _options.TakeoverWait, cancellationToken).ConfigureAwait(false);
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

        using var operation = await _activity.BeginAsync(id, _options.TakeoverWait, cancellationToken).ConfigureAwait(false);
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
                Log.UploadCancelled(_logger, id);
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
    public async Task<AppendResult> AppendAsync(AppendRequest request, Stream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(body);
        var target = _targets.Find(request.Target);
        if (target is null || !UploadIds.IsWellFormed(request.Id))
        {
            return new AppendResult(target is null ? UploadOutcome.TargetNotFound : UploadOutcome.NotFound, null);
        }

        using var operation = await _activity.BeginAsync(request.Id, _options.TakeoverWait, cancellationToken).ConfigureAwait(false);
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

        var rejection = CheckAppend(target, record, request);
        if (rejection is not null)
        {
            return rejection;
        }

        (UploadRecord? Record, UploadOutcome Outcome, UploadRecord? Current) leased;
        try
        {
            leased = await AcquireLeaseAsync(record, request, operation.Token).ConfigureAwait(false);
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

        if (await ReconcileUnreleasedAsync(target, record, operation.Token).ConfigureAwait(false) is { } unusable)
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
            return await ExpireLostSessionAsync(target, request.Id, cancellationToken).ConfigureAwait(false);
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
    public async Task<int> CleanupExpiredAsync(CancellationToken cancellationToken)
    {
        var handled = 0;
        await foreach (var record in _store.ListExpiredAsync(Now, 100, cancellationToken).ConfigureAwait(false))
        {
            var target = _targets.Find(record.Target);
            try
            {
                if (record.State == UploadState.Completing)
                {
                    // The backend commit may already have happened: finish it (idempotent) rather than abort.
                    if (!LeaseHeldByOther(record))
                    {
                        await FinishCompletionAsync(record, cancellationToken).ConfigureAwait(false);
                    }
                }
                else if (record.IsActive)
                {
                    if (LeaseHeldByOther(record))
                    {
                        continue;
                    }

                    var written = await _store.TryReplaceAsync(Tombstone(record, UploadState.Expired), cancellationToken).ConfigureAwait(false);
                    if (written.Status != MetadataWriteStatus.Success)
                    {
                        continue;
                    }

                    await _activity.EndActiveAsync(record.Id, _options.TakeoverWait, cancellationToken).ConfigureAwait(false);
                    if (target is not null)
                    {
                        await AbortAsync(target, written.Record!, cancellationToken).ConfigureAwait(false);
                    }

                    StorageBridgeTelemetry.UploadsExpired.Add(1);
                    Log.UploadExpired(_logger, record.Id);
                }
                else if (record.State is UploadState.Cancelled or UploadState.Expired)
                {
                    // Abort again before forgetting: it is idempotent and catches a failed abort at cancel time.
                    if (target is not null)
                    {
                        await AbortAsync(target, record, cancellationToken).ConfigureAwait(false);
                    }

                    await _store.TryDeleteAsync(record.Id, record.Version, cancellationToken).ConfigureAwait(false);
                }

                handled++;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.CleanupFailed(_logger, record.Id, ex);
            }
        }

        return handled + await SweepExpiredLookupsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether the target's backend can join completed uploads into a new one (<see cref="ConcatenateAsync"/>).</summary>
    public bool SupportsConcatenation(string target) => _targets.Find(target)?.Backend is IConcatenatingBackend;

    /// <summary>
    /// Creates a completed upload whose object is the given completed uploads joined in order. The record is written
    /// only after the backend committed the object, so a failure leaves no half-made upload (at most an orphan object).
    /// </summary>
    public async Task<CreateResult> ConcatenateAsync(ConcatenateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var target = _targets.Find(request.Target);
        if (target is null)
        {
            return new CreateResult(UploadOutcome.TargetNotFound, null);
        }

        if (target.Backend is not IConcatenatingBackend concatenating)
        {
            return new CreateResult(UploadOutcome.NotSupported, null);
        }

        var sources = new List<UploadRecord>(request.SourceIds.Count);
        foreach (var sourceId in request.SourceIds)
        {
            var source = UploadIds.IsWellFormed(sourceId) ? await LoadAsync(target.Name, sourceId, cancellationToken).ConfigureAwait(false) : null;
            if (source is null)
            {
                return new CreateResult(UploadOutcome.NotFound, null);
            }

            if (StateOutcome(source) is { } gone)
            {
                return new CreateResult(gone, source);
            }

            if (source.State != UploadState.Completed)
            {
                return new CreateResult(UploadOutcome.IncompleteSource, source);
            }

            sources.Add(source);
        }

        var total = sources.Sum(s => s.Offset);
        if (total > MaxLength(target, declared: true))
        {
            return new CreateResult(UploadOutcome.TooLarge, null, LimitKind.MaxSize);
        }

        var now = Now;
        var id = UploadIds.New();
        var record = new UploadRecord
        {
            Id = id,
            Target = target.Name,
            ObjectKey = ObjectKeys.Build(target.Options, target.Name, id, request.FileName, now),
            Protocol = request.Protocol,
            Length = total,
            Offset = total,
            ContentType = request.ContentType,
            FileName = request.FileName,
            Metadata = request.Metadata ?? UploadRecord.EmptyMetadata,
            ProtocolState = request.ProtocolState ?? UploadRecord.EmptyMetadata,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var stored = await concatenating.ConcatenateAsync(record, [.. sources.Select(s => s.StoredObject?.Key ?? s.ObjectKey)], cancellationToken)
            .ConfigureAwait(false);
        var created = await _store.CreateAsync(CompletedRecord(record, stored), cancellationToken).ConfigureAwait(false);
        if (created.Status != MetadataWriteStatus.Success)
        {
            throw new InvalidOperationException($"Metadata store refused to create upload {id}: {created.Status}.");
        }

        StorageBridgeTelemetry.UploadsCreated.Add(1, new KeyValuePair<string, object?>("target", target.Name));
        StorageBridgeTelemetry.UploadsCompleted.Add(1, new KeyValuePair<string, object?>("target", target.Name));
        Log.UploadCompleted(_logger, id, total, record.ObjectKey);
        return new CreateResult(UploadOutcome.Success, created.Record);
    }

    /// <summary>Largest total size accepted by this target (declared up front, or discovered while streaming).</summary>
    public static long MaxLength(UploadTarget target, bool declared)
    {
        ArgumentNullException.ThrowIfNull(target);
        var backendCap = declared
            ? PartPlanner.MaxDeclaredLength(target.Backend.Capabilities, target.PartSize)
            : target.Limits.MaxSize;
        return Math.Min(target.Options.MaxUploadSize ?? long.MaxValue, backendCap ?? long.MaxValue);
    }

    private async Task<UploadRecord?> LoadAsync(string target, string id, CancellationToken cancellationToken)
    {
        var record = await _store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        return record is not null && string.Equals(record.Target, target, StringComparison.OrdinalIgnoreCase) ? record : null;
    }

    /// <summary>Outcome implied by the record's state alone, or null when it is open for business.</summary>
    private UploadOutcome? StateOutcome(UploadRecord record) => record.State switch
    {
        UploadState.Cancelled or UploadState.Expired => UploadOutcome.Gone,
        UploadState.Open when record.ExpiresAt is { } expires && expires <= Now => UploadOutcome.Gone,
        _ => null,
    };

    private bool LeaseHeldByOther(UploadRecord record) =>
        record.LeaseOwner is { } owner && owner != _options.InstanceId && record.LeaseUntil > Now;

    private AppendResult? CheckAppend(UploadTarget target, UploadRecord record, AppendRequest request)
    {
        if (request.ContentDigest is { } digest && !DigestValue.IsSupportedForAppend(digest.Algorithm))
        {
            throw new ArgumentException($"Unsupported digest algorithm '{digest.Algorithm}'.", nameof(request));
        }

        if (record.State == UploadState.Completed)
        {
            return new AppendResult(UploadOutcome.AlreadyCompleted, record);
        }

        if (StateOutcome(record) is { } gone)
        {
            return new AppendResult(gone, record);
        }

        if (record.State == UploadState.Completing)
        {
            return new AppendResult(UploadOutcome.Conflict, record);
        }

        if (CheckChunkedAppend(record, request) is { } chunked)
        {
            return chunked;
        }

        if (request.Offset != record.Offset)
        {
            return new AppendResult(UploadOutcome.OffsetMismatch, record, record.Offset);
        }

        var length = record.Length;
        if (request.DeclaredLength is long declared)
        {
            if (declared < record.Offset || (length is long known && known != declared))
            {
                return new AppendResult(UploadOutcome.LengthMismatch, record);
            }

            length = declared;
        }

        if (request.ContentLength is long contentLength)
        {
            var end = record.Offset + contentLength;
            if ((request.Complete && length is long total && total != end) || (length is long max && end > max))
            {
                return new AppendResult(UploadOutcome.LengthMismatch, record);
            }

            if (target.Limits.MaxAppendSize is long maxAppend && contentLength > maxAppend)
            {
                return new AppendResult(UploadOutcome.TooLarge, record, Limit: LimitKind.MaxAppendSize);
            }

            var exempt = request.Complete || request.FromChunks || (request.IsCreation && contentLength == 0);
            if (!exempt && target.Limits.MinAppendSize is long minAppend && contentLength < minAppend)
            {
                return new AppendResult(UploadOutcome.TooSmall, record, Limit: LimitKind.MinAppendSize);
            }

            if (end > MaxLength(target, declared: length is not null))
            {
                return new AppendResult(UploadOutcome.TooLarge, record, Limit: LimitKind.MaxSize);
            }
        }

        if (length is long newLength && newLength > MaxLength(target, declared: true))
        {
            return new AppendResult(UploadOutcome.TooLarge, record, Limit: LimitKind.MaxSize);
        }

        return null;
    }

    /// <summary>
    /// Claims the upload for this instance. A lease held by another instance is taken over by writing ourselves in,
    /// then waiting until the old lease lapses: the old holder cannot renew (its compare-and-swap fails) and never
    /// starts a backend write in the last half of its lease, so the two never write at once.
    /// </summary>
    private async Task<(UploadRecord? Record, UploadOutcome Outcome, UploadRecord? Current)> AcquireLeaseAsync(
        UploadRecord record, AppendRequest request, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (request.YieldToOtherInstance && LeaseHeldByOther(record))
            {
                return (null, UploadOutcome.Conflict, record);
            }

            // Writes may start once the foreign lease lapsed. A claim still waiting for that (LeaseFrom) binds whoever
            // takes over from it too, including a newer request in this process.
            var foreignUntil = LeaseHeldByOther(record) ? record.LeaseUntil : null;
            var writableFrom = new[] { foreignUntil, record.LeaseFrom }.Where(t => t > Now).Max();
            var claimed = record with
            {
                Length = request.DeclaredLength ?? record.Length,
                LeaseOwner = _options.InstanceId,
                LeaseUntil = Max(Now, writableFrom ?? Now) + _options.LeaseDuration,
                LeaseFrom = writableFrom,
                UpdatedAt = Now,
            };
            var written = await _store.TryReplaceAsync(claimed, cancellationToken).ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                if (writableFrom is { } until)
                {
                    Log.WaitingForLease(_logger, record.Id, record.LeaseOwner ?? "", until);
                    await Task.Delay(until - Now, _time, cancellationToken).ConfigureAwait(false);
                }

                return (written.Record, UploadOutcome.Success, null);
            }

            var current = await _store.GetAsync(record.Id, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return (null, UploadOutcome.NotFound, null);
            }

            if (current.State != UploadState.Open || current.Offset != request.Offset)
            {
                var outcome = current.State switch
                {
                    UploadState.Completed => UploadOutcome.AlreadyCompleted,
                    UploadState.Cancelled or UploadState.Expired => UploadOutcome.Gone,
                    UploadState.Completing => UploadOutcome.Conflict,
                    _ => UploadOutcome.OffsetMismatch,
                };
                return (null, outcome, current);
            }

            record = current;
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>Finishes a completion interrupted between the backend commit and the metadata write (idempotent commit).</summary>
    private async Task<UploadRecord?> FinishCompletionAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        var target = _targets.Find(record.Target);
        if (target is null)
        {
            return null;
        }

        StoredObject stored;
        try
        {
            stored = await target.Backend.CompleteAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectExistsException)
        {
            var reopened = await _store.TryReplaceAsync(record with { State = UploadState.Open, LeaseOwner = null, LeaseUntil = null }, cancellationToken).ConfigureAwait(false);
            return reopened.Record;
        }
        catch (UploadSessionGoneException)
        {
            return (await ExpireLostSessionAsync(target, record.Id, cancellationToken).ConfigureAwait(false)).Upload;
        }

        var completed = CompletedRecord(record, stored);
        var written = await _store.TryReplaceAsync(completed, cancellationToken).ConfigureAwait(false);
        return written.Record;
    }

    /// <summary>A cancelled or expired upload: answers 410 until TombstoneRetention passes, then it is forgotten.</summary>
    private UploadRecord Tombstone(UploadRecord record, UploadState state) => record with
    {
        State = state,
        ExpiresAt = Now + _options.TombstoneRetention,
        UpdatedAt = Now,
        LeaseOwner = null,
        LeaseUntil = null,
    };

    private UploadRecord CompletedRecord(UploadRecord record, StoredObject stored) => record with
    {
        State = UploadState.Completed,
        StoredObject = stored,
        Length = record.Offset,
        Tail = null,
        ExpiresAt = null,
        LeaseOwner = null,
        LeaseUntil = null,
        UpdatedAt = Now,
        Sha256 = record.HashState is { } state ? Convert.ToBase64String(Hashing.ResumableSha256.Import(state).GetCurrentHash()) : null,
    };

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Upload {UploadId} created on target {Target} (length {Length})")]
        public static partial void UploadCreated(ILogger logger, string uploadId, string target, long? length);

        [LoggerMessage(2, LogLevel.Information, "Upload {UploadId} completed: {Length} bytes as {ObjectKey}")]
        public static partial void UploadCompleted(ILogger logger, string uploadId, long length, string objectKey);

        [LoggerMessage(3, LogLevel.Information, "Upload {UploadId} cancelled")]
        public static partial void UploadCancelled(ILogger logger, string uploadId);

        [LoggerMessage(4, LogLevel.Information, "Upload {UploadId} expired and was cleaned up")]
        public static partial void UploadExpired(ILogger logger, string uploadId);

        [LoggerMessage(5, LogLevel.Warning, "Cleanup of upload {UploadId} failed; it will be retried")]
        public static partial void CleanupFailed(ILogger logger, string uploadId, Exception exception);

        [LoggerMessage(6, LogLevel.Information, "Upload {UploadId}: waiting for the lease of {Owner} to lapse at {Until}")]
        public static partial void WaitingForLease(ILogger logger, string uploadId, string owner, DateTimeOffset until);

        [LoggerMessage(7, LogLevel.Information, "Upload {UploadId}: append ended early after {Received} bytes; the received bytes were kept")]
        public static partial void AppendInterrupted(ILogger logger, string uploadId, long received);

        [LoggerMessage(8, LogLevel.Warning, "Upload {UploadId}: lost the lease to another writer; this append stops")]
        public static partial void LeaseLost(ILogger logger, string uploadId);

        [LoggerMessage(9, LogLevel.Warning, "Upload {UploadId}: whole-upload digest mismatch; the upload was cancelled")]
        public static partial void ReprDigestMismatch(ILogger logger, string uploadId);
    }
}
