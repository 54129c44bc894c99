using StorageBridge.Backends;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// Builds uploads from pieces that arrive out of order, in parallel and more than once, for front-ends whose clients
/// number the pieces they send. Two ways, chosen by the caller per upload:
/// <list type="bullet">
/// <item><b>Unordered parts</b> (<see cref="WritePartsAsync"/>): on backends that keep a list of parts, a piece is
/// written straight to the part numbers the caller gives it and recorded by compare-and-swap; the upload commits when
/// its parts cover its length.</item>
/// <item><b>Ordered</b>: the piece at the upload's offset is appended (<see cref="AppendAsync"/>); a piece ahead of it
/// is staged durably in tail slots reserved in the record (<see cref="TryReserveStagingAsync"/>,
/// <see cref="WriteStagedAsync"/>) and appended once the bytes before it are in (<see cref="AppendStagedAsync"/>).</item>
/// </list>
/// What was staged where, and which pieces exist, is the caller's to keep in the upload's protocol state
/// (<see cref="TryReplaceProtocolStateAsync"/>); cancel and expiry drop staged bytes with the upload. Only this
/// service appends to the uploads it creates (<see cref="UploadRecord.Assembled"/>). Obtain it from
/// <see cref="UploadCoordinator.Assembler"/> (also registered in dependency injection).
/// </summary>
public sealed class UploadAssembler
{
    private readonly EngineContext _engine;
    private readonly UploadAdmission _admission;
    private readonly UploadLeases _leases;
    private readonly UploadCompletion _completion;
    private readonly AppendPipeline _append;

    internal UploadAssembler(EngineContext engine, UploadAdmission admission, UploadLeases leases, UploadCompletion completion, AppendPipeline append)
    {
        _engine = engine;
        _admission = admission;
        _leases = leases;
        _completion = completion;
        _append = append;
    }

    /// <summary>The engine's clock (lease and expiry times in records are on it).</summary>
    public TimeProvider Time => _engine.Time;

    /// <summary>
    /// Whether <paramref name="target"/> accepts parts of <paramref name="partSize"/> bytes (the last one may be
    /// shorter) in any order, <paramref name="partCount"/> of them: its backend records parts (S3, Azure; never an
    /// in-place backend), the size is a valid non-final part (minimum, alignment, maximum) no larger than the target's
    /// part size (the bound on memory per request), and the count fits.
    /// </summary>
    public static bool AcceptsPartsOutOfOrder(UploadTarget target, long partSize, int partCount)
    {
        ArgumentNullException.ThrowIfNull(target);
        return target.Shape.AcceptsPartsOutOfOrder(target.PartSize, partSize, partCount);
    }

    /// <summary>
    /// Creates an assembled upload under <paramref name="id"/> (drawn with <see cref="UploadIds.New"/>, e.g. one an
    /// index entry already names). Only this service may append to it.
    /// </summary>
    public Task<CreateResult> CreateAsync(CreateUploadRequest request, string id, CancellationToken cancellationToken)
    {
        if (!UploadIds.IsWellFormed(id))
        {
            throw new ArgumentException("Upload ids are drawn with UploadIds.New().", nameof(id));
        }

        return _admission.CreateAsync(request, id, assembled: true, cancellationToken);
    }

    /// <summary>Whether another instance holds a live lease on the upload (it is appending, or died doing so less than a lease ago).</summary>
    public bool IsLeasedByOtherInstance(UploadRecord upload)
    {
        ArgumentNullException.ThrowIfNull(upload);
        return _leases.HeldByOther(upload);
    }

    /// <summary>
    /// Appends to an assembled upload like <see cref="UploadCoordinator.AppendAsync(AppendRequest, Stream, CancellationToken)"/>,
    /// without the target's min-append-size (the client chose the pieces' sizes). With
    /// <paramref name="yieldToOtherInstance"/>, a live lease of another instance answers <see cref="UploadOutcome.Conflict"/>
    /// (nothing of the body read) instead of being taken over.
    /// </summary>
    public Task<AppendResult> AppendAsync(AppendRequest request, Stream body, bool yieldToOtherInstance, CancellationToken cancellationToken) =>
        _append.AppendAsync(request, body, new AppendOptions(FromAssembler: true, YieldToOtherInstance: yieldToOtherInstance), cancellationToken);

    /// <summary>
    /// Writes <paramref name="length"/> bytes of <paramref name="body"/> at <paramref name="offset"/> straight to backend
    /// parts <paramref name="firstPartNumber"/>, +1, ... of <paramref name="partSize"/> bytes each (the last one the
    /// rest), then records them by compare-and-swap, all or none; when the recorded parts cover the upload's length it
    /// commits. Only for assembled uploads of declared length on a backend that <see cref="AcceptsPartsOutOfOrder"/>.
    /// A body that ends early throws <see cref="InvalidDataException"/> and records nothing. A backend failure while
    /// another writer already recorded these parts (or completed the upload) is answered as not recorded.
    /// </summary>
    public async Task<PartsWriteResult> WritePartsAsync(
        UploadRecord upload, int firstPartNumber, long offset, long length, long partSize, Stream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(partSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partSize, int.MaxValue);
        var target = FindTarget(upload);
        var count = (int)Math.Max(1, (length + partSize - 1) / partSize);
        var numbers = Enumerable.Range(firstPartNumber, count).ToHashSet();
        var buffer = _engine.PartBuffers.Rent((int)Math.Min(partSize, Math.Max(length, 1)));
        var parts = new List<PartRecord>(count);
        try
        {
            // Bytes that arrived are stored even if the client leaves meanwhile.
            using var salvage = new CancellationTokenSource(EngineContext.SalvageTimeout);
            for (var i = 0; i < count; i++)
            {
                var size = Math.Min(partSize, length - (i * partSize));
                var content = buffer.AsMemory(0, (int)size);
                await ReadFullyAsync(body, content, cancellationToken).ConfigureAwait(false);
                parts.Add(await target.Shape.WritePartAsync(BackendUpload.From(upload), firstPartNumber + i, offset, content, salvage.Token).ConfigureAwait(false));
                offset += size;
            }

            return await RecordPartsAsync(upload, parts, numbers, salvage.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (InvalidDataException or OperationCanceledException))
        {
            // Another writer recorded these parts and completed (or cancelled) the upload while this copy was being
            // written, so the native upload is gone: this copy is superseded, not a failure.
            using var salvage = new CancellationTokenSource(EngineContext.SalvageTimeout);
            var current = await _engine.Store.GetAsync(upload.Id, salvage.Token).ConfigureAwait(false);
            if (current is null || (current.State == UploadState.Open && !current.Parts.Any(p => numbers.Contains(p.Number))))
            {
                throw;
            }

            return new PartsWriteResult(UploadOutcome.Success, current, Recorded: false);
        }
        finally
        {
            _engine.PartBuffers.Return(buffer);
        }
    }

    /// <summary>
    /// Commits an assembled upload whose bytes are all in: one that says Completing and that no live lease is
    /// committing (a completion interrupted, idempotent), or an open one whose recorded parts cover its length (a commit
    /// that was refused once or never ran). Anything else is answered as it stands, with <see cref="UploadOutcome.Success"/>.
    /// Pass a token that outlives the request (a salvage timeout): the bytes are all in, the commit should finish.
    /// </summary>
    public async Task<UploadQueryResult> CompleteAsync(UploadRecord upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);

        // A live lease on a Completing record is the request committing it (here or elsewhere): never commit twice at
        // once; only a completion whose committer went silent is finished here.
        if (upload.State == UploadState.Completing && !(upload.LeaseOwner is not null && upload.LeaseUntil > _engine.Now))
        {
            return await FinishAsync(upload, cancellationToken).ConfigureAwait(false);
        }

        if (upload.State == UploadState.Open && upload.Assembled && PartsCoverLength(upload, upload.Parts))
        {
            var completing = upload with { State = UploadState.Completing, LeaseOwner = _engine.Options.InstanceId, LeaseUntil = _engine.Now + _engine.Options.LeaseDuration, UpdatedAt = _engine.Now };
            var written = await _engine.Store.TryReplaceAsync(completing, cancellationToken).ConfigureAwait(false);
            return written.Status == MetadataWriteStatus.Success
                ? await FinishAsync(written.Record!, cancellationToken).ConfigureAwait(false)
                : new UploadQueryResult(UploadOutcome.Success, await _engine.Store.GetAsync(upload.Id, cancellationToken).ConfigureAwait(false));
        }

        return new UploadQueryResult(UploadOutcome.Success, upload);
    }

    /// <summary>
    /// Replaces the upload's protocol state if the record is still the version <paramref name="upload"/> was read at
    /// (compare-and-swap). Returns the written record, or null when another writer changed it first: read it again.
    /// </summary>
    public async Task<UploadRecord?> TryReplaceProtocolStateAsync(UploadRecord upload, IReadOnlyDictionary<string, string> protocolState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(protocolState);
        var written = await _engine.Store.TryReplaceAsync(upload with { ProtocolState = protocolState, UpdatedAt = _engine.Now }, cancellationToken).ConfigureAwait(false);
        return written.Status == MetadataWriteStatus.Success ? written.Record : null;
    }

    /// <summary>
    /// Reserves tail slots for <paramref name="length"/> bytes of an open upload and records the reservation together
    /// with the protocol state <paramref name="protocolState"/> makes of it, in one compare-and-swap, before any byte is
    /// written: cancel and expiry (which drop every tail slot the record reserved) then also drop the bytes of a
    /// request that died. The slots start two past the upload's highest tail sequence, so an append running now (which
    /// may write its tail at the next one) never meets them. Null when the upload changed since it was read (read it
    /// again) or is not open.
    /// </summary>
    public async Task<StagingReservation?> TryReserveStagingAsync(
        UploadRecord upload, long length, Func<StagedRange, IReadOnlyDictionary<string, string>> protocolState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(protocolState);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (upload.State != UploadState.Open)
        {
            return null;
        }

        var target = FindTarget(upload);
        var range = new StagedRange(checked(upload.TailSequence + 2), Math.Max(1, Math.Min(target.PartSize, length)), length);
        var updated = upload with
        {
            TailSequence = checked(range.FirstSequence + Math.Max(range.PieceCount, 1) - 1),
            ProtocolState = protocolState(range),
            UpdatedAt = _engine.Now,
        };
        var written = await _engine.Store.TryReplaceAsync(updated, cancellationToken).ConfigureAwait(false);
        return written.Status == MetadataWriteStatus.Success ? new StagingReservation(written.Record!, range) : null;
    }

    /// <summary>
    /// Writes the reserved <paramref name="range"/>'s bytes from <paramref name="body"/> (exactly its length; a body that
    /// ends early throws <see cref="InvalidDataException"/>). Backend writes finish even when the caller is cancelled
    /// mid-way, within a salvage timeout.
    /// </summary>
    public async Task WriteStagedAsync(UploadRecord upload, StagedRange range, Stream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(range);
        ArgumentNullException.ThrowIfNull(body);
        var target = FindTarget(upload);
        var buffer = _engine.PartBuffers.Rent((int)range.PieceSize);
        using var salvage = new CancellationTokenSource(EngineContext.SalvageTimeout);
        try
        {
            for (var i = 0; i < range.PieceCount; i++)
            {
                var length = (int)Math.Min(range.PieceSize, range.Length - (i * range.PieceSize));
                await ReadFullyAsync(body, buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                await target.Tails.WriteAsync(upload.Id, range.FirstSequence + i, buffer.AsMemory(0, length), salvage.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            _engine.PartBuffers.Return(buffer);
        }
    }

    /// <summary>
    /// Appends staged bytes from <paramref name="skip"/> bytes into <paramref name="range"/> at the upload's offset (as
    /// read in <paramref name="upload"/>), like <see cref="AppendAsync"/> yielding to another instance's live lease;
    /// <paramref name="complete"/> when they are the upload's last bytes. Holds one piece in memory.
    /// </summary>
    public async Task<AppendResult> AppendStagedAsync(UploadRecord upload, StagedRange range, long skip, bool complete, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(range);
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        var target = FindTarget(upload);
        var piece = _engine.PartBuffers.Rent((int)Math.Max(1, Math.Min(range.PieceSize, range.Length)));
        try
        {
            using var replay = new StagedRangeStream(target.Tails, upload, range, skip, piece);
            return await AppendAsync(
                new AppendRequest { Target = upload.Target, Id = upload.Id, Owner = upload.Owner, Offset = upload.Offset, Complete = complete, ContentLength = range.Length - skip },
                replay,
                yieldToOtherInstance: true,
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _engine.PartBuffers.Return(piece);
        }
    }

    /// <summary>Deletes staged bytes (best effort: a failure is logged, and cancel and expiry drop leftovers).</summary>
    public async Task DeleteStagedAsync(UploadRecord upload, StagedRange range, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(range);
        try
        {
            var target = FindTarget(upload);
            for (var i = 0; i < range.PieceCount; i++)
            {
                await target.Tails.DeleteAsync(upload.Id, range.FirstSequence + i, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            EngineLog.CleanupFailed(_engine.Logger, upload.Id, ex);
        }
    }

    private UploadTarget FindTarget(UploadRecord upload) =>
        _engine.Targets.Find(upload.Target) ?? throw new InvalidOperationException($"Upload {upload.Id} names target '{upload.Target}', which is not configured.");

    private static bool PartsCoverLength(UploadRecord upload, IReadOnlyCollection<PartRecord> parts) =>
        upload.Tail is null && upload.Length is long length && length > 0 && parts.Count > 0 && parts.Sum(p => p.Size) == length;

    private async Task<PartsWriteResult> RecordPartsAsync(UploadRecord upload, List<PartRecord> parts, HashSet<int> numbers, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (upload.State != UploadState.Open || upload.Parts.Any(p => numbers.Contains(p.Number)))
            {
                // Moved on, or another copy of these parts was recorded first (the same bytes): the record decides.
                return new PartsWriteResult(UploadOutcome.Success, upload, Recorded: false);
            }

            List<PartRecord> all = [.. upload.Parts.Concat(parts).OrderBy(p => p.Number)];
            var complete = PartsCoverLength(upload, all);
            var updated = upload with
            {
                Parts = all,
                Offset = all.Sum(p => p.Size),
                State = complete ? UploadState.Completing : UploadState.Open,
                LeaseOwner = complete ? _engine.Options.InstanceId : upload.LeaseOwner,
                LeaseUntil = complete ? _engine.Now + _engine.Options.LeaseDuration : upload.LeaseUntil,
                UpdatedAt = _engine.Now,
            };
            var written = await _engine.Store.TryReplaceAsync(updated, cancellationToken).ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                _engine.Metrics.BytesAppended.Add(parts.Sum(p => p.Size), new KeyValuePair<string, object?>("target", upload.Target));
                if (!complete)
                {
                    return new PartsWriteResult(UploadOutcome.Success, written.Record, Recorded: true);
                }

                var finished = await FinishAsync(written.Record!, cancellationToken).ConfigureAwait(false);
                return new PartsWriteResult(finished.Outcome, finished.Upload, Recorded: true);
            }

            upload = await _engine.Store.GetAsync(upload.Id, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Upload {upload.Id} disappeared while parts were recorded.");
        }
    }

    /// <summary>Commits an upload whose record says Completing (idempotent; also finishes one a crash interrupted).</summary>
    private async Task<UploadQueryResult> FinishAsync(UploadRecord completing, CancellationToken cancellationToken)
    {
        var done = await _completion.FinishAsync(completing, cancellationToken).ConfigureAwait(false)
            ?? await _engine.Store.GetAsync(completing.Id, cancellationToken).ConfigureAwait(false);
        if (done?.State == UploadState.Completed)
        {
            _engine.Metrics.UploadsCompleted.Add(1, new KeyValuePair<string, object?>("target", done.Target));
            EngineLog.UploadCompleted(_engine.Logger, done.Id, done.Offset, done.ObjectKey);
            return new UploadQueryResult(UploadOutcome.Success, done);
        }

        // The completion reopens the upload when another object holds the key and overwriting is off.
        return new UploadQueryResult(done?.State == UploadState.Open ? UploadOutcome.ObjectExists : UploadOutcome.Conflict, done);
    }

    private static async Task ReadFullyAsync(Stream body, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var done = 0;
        while (done < destination.Length)
        {
            var read = await body.ReadAsync(destination[done..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new InvalidDataException($"The body ended after {done} of {destination.Length} bytes.");
            }

            done += read;
        }
    }
}
