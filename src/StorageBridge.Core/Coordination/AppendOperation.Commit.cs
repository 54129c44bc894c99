using System.Security.Cryptography;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// Ending an append: the remainder as parts or a new tail, completion, and the compare-and-swap commits that record
/// parts, tail, offset and running hash (or release the lease with nothing new).
/// </summary>
internal sealed partial class AppendOperation
{
    /// <summary>End of a non-completing append (or of a stopped one): parts for what fits, the rest as the new tail.</summary>
    private async Task<AppendResult> FinishAsync(UploadOutcome outcome, LimitKind limit)
    {
        if (_atomic && (outcome != UploadOutcome.Success || !DigestMatches()))
        {
            // Content-Digest appends are all-or-nothing: unrecorded parts and tails stay invisible.
            var failed = outcome == UploadOutcome.Success ? UploadOutcome.DigestMismatch : outcome;
            await AbandonInflightAsync().ConfigureAwait(false);
            var released = await ReleaseAsync().ConfigureAwait(false);
            return new AppendResult(failed, released, Limit: limit);
        }

        await StoreRemainderAsync().ConfigureAwait(false);
        return new AppendResult(outcome, _record, Limit: limit);
    }

    private async Task StoreRemainderAsync()
    {
        await CollectAsync(keep: 0, commit: false).ConfigureAwait(false);

        // Multipart: a remainder short of a whole part stays in the tail (see UploadShape.FlushesRemainder).
        if (_shape.FlushesRemainder(Buffered, _partSize) && PartPlanner.FlushableLength(_caps, Buffered) > 0)
        {
            await LoadTailAsync().ConfigureAwait(false);
            await WritePartAsync((int)PartPlanner.FlushableLength(_caps, _filled)).ConfigureAwait(false);
            await CollectAsync(keep: 0, commit: false).ConfigureAwait(false);
        }

        TailRecord? newTail = null;
        var keepTail = false;
        var sequence = _record.TailSequence + 1;
        if (_tailPending is not null && _filled == 0)
        {
            keepTail = true;
        }
        else if (_tailPending is { } segmented && CanAddSegment())
        {
            // Only the new bytes are written, as one more segment; the tail's earlier segments stay as they are.
            await EnsureLeaseAsync().ConfigureAwait(false);
            using var tailCall = EngineActivities.StartBackendCall(_engine.Metrics, "WriteTail", _target, _record.Id, bytes: _filled, tailSequence: sequence);
            await EngineActivities.Track(tailCall, Tails.WriteAsync(_record.Id, sequence, _buffer.AsMemory(0, _filled), SalvageToken)).ConfigureAwait(false);
            newTail = segmented.Append(sequence, _filled);
        }
        else
        {
            await LoadTailAsync().ConfigureAwait(false);
            keepTail = _filled > 0 && _filled == _tailInBuffer;
            if (_filled > 0 && !keepTail)
            {
                await EnsureLeaseAsync().ConfigureAwait(false);
                using var tailCall = EngineActivities.StartBackendCall(_engine.Metrics, "WriteTail", _target, _record.Id, bytes: _filled, tailSequence: sequence);
                await EngineActivities.Track(tailCall, Tails.WriteAsync(_record.Id, sequence, _buffer.AsMemory(0, _filled), SalvageToken)).ConfigureAwait(false);
                newTail = new TailRecord(sequence, _filled);
            }
        }

        await CommitAsync(newTail, keepTail, release: true).ConfigureAwait(false);
        if (newTail is not null)
        {
            // Recorded now: the bytes under this sequence number are final (see TailSegmentCache).
            _engine.TailCache.Add(_record.Id, sequence, _buffer.AsSpan(0, _filled));
        }
    }

    private async Task<AppendResult> CompleteAsync()
    {
        if (_length is long length && Total != length)
        {
            // Claimed to be the last data but short of the declared length: keep the bytes, stay open.
            return await FinishAsync(UploadOutcome.LengthMismatch, LimitKind.None).ConfigureAwait(false);
        }

        if (_atomic && !DigestMatches())
        {
            return await FinishAsync(UploadOutcome.Success, LimitKind.None).ConfigureAwait(false);
        }

        if (!UploadCompletion.ReprDigestMatches(_record, _sha))
        {
            return await RejectWholeUploadAsync().ConfigureAwait(false);
        }

        // Time of use: a caller whose authorization lapsed while the body streamed keeps its bytes but cannot complete.
        if (_request.AuthorizeCompletion is { } authorize && !await authorize(SalvageToken).ConfigureAwait(false))
        {
            EngineLog.CompletionRefused(_engine.Logger, _record.Id);
            await StoreRemainderAsync().ConfigureAwait(false);
            return new AppendResult(UploadOutcome.Forbidden, _record);
        }

        await CollectAsync(keep: 0, commit: false).ConfigureAwait(false);
        await LoadTailAsync().ConfigureAwait(false);
        if (_filled > 0)
        {
            await WritePartAsync(_filled).ConfigureAwait(false);
            await CollectAsync(keep: 0, commit: false).ConfigureAwait(false);
        }

        var completing = await CommitAsync(newTail: null, keepTail: false, release: false, UploadState.Completing).ConfigureAwait(false);
        var committed = await _completion.CommitObjectAsync(_target, completing, SalvageToken).ConfigureAwait(false);
        if (committed.Outcome != UploadOutcome.Success)
        {
            return committed;
        }

        _record = committed.Upload!;
        await ForgetTailsQuietlyAsync().ConfigureAwait(false);
        _completion.ReportCompleted(_target.Name, _record);
        return new AppendResult(UploadOutcome.Success, _record);
    }

    private async Task<AppendResult> RejectWholeUploadAsync()
    {
        EngineLog.ReprDigestMismatch(_engine.Logger, _record.Id);
        await AbandonInflightAsync().ConfigureAwait(false);
        _record = await _completion.CancelMismatchedAsync(_target, _record, SalvageToken).ConfigureAwait(false);
        return new AppendResult(UploadOutcome.DigestMismatch, _record);
    }

    /// <summary>Data past the known length (IETF): the upload becomes a cancelled tombstone and every stored byte is dropped.</summary>
    private async Task<AppendResult> InvalidateAsync()
    {
        await AbandonInflightAsync().ConfigureAwait(false);
        var invalidated = await _completion.InvalidateAsync(_target, _record, SalvageToken).ConfigureAwait(false);
        _record = invalidated.Upload ?? _record;
        return invalidated;
    }

    private bool DigestMatches() =>
        _contentHash is null || CryptographicOperations.FixedTimeEquals(_contentHash.GetCurrentHash(), _request.ContentDigest!.Value);

    /// <summary>Records the parts written so far (and the new tail); old tails are deleted once nothing points at them.</summary>
    private async Task<UploadRecord> CommitAsync(TailRecord? newTail, bool keepTail, bool release, UploadState state = UploadState.Open)
    {
        var oldTail = _record.Tail;
        var tail = keepTail ? oldTail : newTail;
        var committedParts = _shape.RecordedParts(_record.Parts, _pendingParts);
        var offset = _completedEnd + (tail?.Size ?? 0);
        while (true)
        {
            var updated = _record with
            {
                Parts = committedParts,
                Offset = offset,
                Tail = tail,
                TailSequence = Math.Max(_record.TailSequence, newTail?.Sequence ?? 0),
                HashState = _sha?.Export() ?? _record.HashState,
                State = state,
                LeaseOwner = release ? null : _engine.Options.InstanceId,
                LeaseUntil = release ? null : _engine.Now + _engine.Options.LeaseDuration,
                UpdatedAt = _engine.Now,
            };
            var written = await _engine.Store.TryReplaceAsync(updated, SalvageToken).ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                _engine.Metrics.BytesAppended.Add(offset - _record.Offset, new KeyValuePair<string, object?>("target", _target.Name));
                _record = written.Record!;
                _pendingParts.Clear();
                _uncommittedInPlace = 0;
                if (state == UploadState.Open && _record.Offset > _startOffset)
                {
                    _request.Progress?.Report(_record.Offset);
                }

                if (oldTail is not null && !keepTail)
                {
                    // Objects of the old tail the new one does not list (a new segment keeps the earlier ones).
                    var kept = tail?.Objects.Select(o => o.Sequence).ToHashSet() ?? [];
                    await DeleteTailsQuietlyAsync([.. oldTail.Objects.Select(o => o.Sequence).Where(s => !kept.Contains(s))]).ConfigureAwait(false);
                }

                return _record;
            }

            await RefreshOrThrowAsync().ConfigureAwait(false);
        }
    }

    /// <summary>After a failed compare-and-swap: continue only if the upload is still ours and unchanged.</summary>
    private async Task RefreshOrThrowAsync() =>
        _record = await _leases.RefreshOrThrowAsync(_record, SalvageToken).ConfigureAwait(false);

    /// <summary>Never start a backend write in the last half of the lease: renew first (fails if taken over).</summary>
    private async Task EnsureLeaseAsync()
    {
        if (!_leases.NeedsRenewal(_record))
        {
            return;
        }

        while (true)
        {
            if (await _leases.TryRenewAsync(_record, SalvageToken).ConfigureAwait(false) is { } renewed)
            {
                _record = renewed;
                return;
            }

            await RefreshOrThrowAsync().ConfigureAwait(false);
        }
    }

    private async Task<UploadRecord?> ReleaseAsync()
    {
        try
        {
            return await CommitWithoutDataAsync().ConfigureAwait(false);
        }
        catch (LeaseLostException)
        {
            return await ReloadAsync().ConfigureAwait(false);
        }
    }

    private async Task<UploadRecord> CommitWithoutDataAsync()
    {
        _pendingParts.Clear();
        _partsEnd = _completedEnd = _record.PartsLength;
        while (true)
        {
            var released = _record with { LeaseOwner = null, LeaseUntil = null, UpdatedAt = _engine.Now };
            var written = await _engine.Store.TryReplaceAsync(released, SalvageToken).ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                _record = written.Record!;
                return _record;
            }

            await RefreshOrThrowAsync().ConfigureAwait(false);
        }
    }

    /// <summary>After a backend failure: record the parts that did reach the backend, drop the rest, release.</summary>
    private async Task TryKeepWrittenPartsAsync()
    {
        try
        {
            // Part writes that finished before the failure still count, in order up to the first failed one.
            try
            {
                await CollectAsync(keep: 0, commit: false).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                EngineLog.CleanupFailed(_engine.Logger, _record.Id, ex);
            }

            // A running hash already covers the discarded buffer bytes, so with one nothing new may be recorded.
            if (_atomic || _pendingParts.Count == 0 || _sha is not null)
            {
                await CommitWithoutDataAsync().ConfigureAwait(false);
                return;
            }

            // The tail read back (if any) was rewritten into a part or is still in the buffer: keep the old tail
            // only when no part consumed it.
            // Recorded parts consumed the old tail; the bytes after them are dropped.
            _filled = 0;
            _tailPending = null;
            await CommitAsync(newTail: null, keepTail: false, release: true).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The original failure matters more; the lease lapses on its own.
            EngineLog.CleanupFailed(_engine.Logger, _record.Id, ex);
        }
    }

    private Task<UploadRecord?> ReloadAsync() => _engine.Store.GetAsync(_record.Id, SalvageToken);
}
