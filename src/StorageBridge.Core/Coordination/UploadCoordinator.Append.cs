using System.Diagnostics;
using System.Security.Cryptography;
using StorageBridge.Backends;
using StorageBridge.Diagnostics;
using StorageBridge.Hashing;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

public sealed partial class UploadCoordinator
{
    /// <summary>
    /// One append request from lease to release. Invariant: <c>_buffer[0.._filled)</c> holds the bytes after the
    /// last part started (<c>_partsEnd</c>), preceded by the durable tail: either still in the backend
    /// (<c>_tailPending</c>, read back only when a part forms or the tail must be rewritten) or read back into the
    /// buffer's first <c>_tailInBuffer</c> bytes. Parts started but not yet finished are in <c>_inflight</c>, oldest
    /// first; they are recorded strictly in order, so the record never skips a part.
    /// </summary>
    private sealed class AppendOperation : IDisposable
    {
        private readonly UploadCoordinator _owner;
        private readonly UploadTarget _target;
        private readonly AppendRequest _request;
        private readonly BackendCapabilities _caps;
        private readonly long? _length;
        private readonly bool _atomic;
        private readonly int _concurrency;
        private readonly List<PartRecord> _pendingParts = [];
        private readonly Queue<InflightPart> _inflight = new();
        private readonly IncrementalHash? _contentHash;
        private readonly ResumableSha256? _sha;
        private readonly long _startOffset;
        private readonly CancellationTokenSource _salvage = new(SalvageTimeout);

        private UploadRecord _record;
        private TailRecord? _tailPending;
        private byte[]? _buffer;
        private int _filled;
        private int _tailInBuffer;
        private long _partsEnd;
        private long _completedEnd;
        private long _received;
        private long _uncommittedInPlace;
        private long _partSize;

        public AppendOperation(UploadCoordinator owner, UploadTarget target, UploadRecord record, AppendRequest request)
        {
            _owner = owner;
            _target = target;
            _record = record;
            _request = request;
            _caps = target.Backend.Capabilities;
            _length = record.Length;
            _startOffset = record.Offset;
            _partsEnd = _completedEnd = record.PartsLength;
            _tailPending = record.Tail;
            _atomic = request.ContentDigest is not null;
            _concurrency = target.MaxConcurrentParts;
            _contentHash = request.ContentDigest?.Algorithm switch
            {
                DigestValue.Sha256 => IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
                DigestValue.Sha512 => IncrementalHash.CreateHash(HashAlgorithmName.SHA512),
                DigestValue.Sha1 => IncrementalHash.CreateHash(HashAlgorithmName.SHA1),
                DigestValue.Md5 => IncrementalHash.CreateHash(HashAlgorithmName.MD5),
                null => null,
                var other => throw new ArgumentException($"Unsupported digest algorithm '{other}'.", nameof(request)),
            };
            _sha = record.HashState is { } state ? ResumableSha256.Import(state) : null;
        }

        private IUploadBackend Backend => _target.Backend;

        private ITailStore Tails => _target.Tails;

        private PartBufferPool Pool => _owner._engine.PartBuffers;

        private CancellationToken SalvageToken => _salvage.Token;

        private long Total => _startOffset + _received;

        /// <summary>Bytes after the last part started: the tail (read back or not) plus the buffer.</summary>
        private long Buffered => (_tailPending?.Size ?? 0) + _filled;

        public async Task<AppendResult> RunAsync(Stream body, CancellationToken requestToken)
        {
            try
            {
                return await RunCoreAsync(body, requestToken).ConfigureAwait(false);
            }
            finally
            {
                // Every exit waits for part writes still running, so a later writer never races a stale one.
                await AbandonInflightAsync().ConfigureAwait(false);
            }
        }

        private async Task<AppendResult> RunCoreAsync(Stream body, CancellationToken requestToken)
        {
            var outcome = UploadOutcome.Success;
            var limit = LimitKind.None;
            try
            {
                _partSize = PartPlanner.PartSizeFor(_caps, _target.PartSize, _length, _partsEnd, _record.Parts.Count);
                _buffer = Pool.Rent(InitialCapacity());
                (outcome, limit) = await ReadBodyAsync(body, (int)_partSize, requestToken).ConfigureAwait(false);
            }
            catch (LeaseLostException)
            {
                EngineLog.LeaseLost(_owner._logger, _record.Id);
                await AbandonInflightAsync().ConfigureAwait(false);
                return new AppendResult(UploadOutcome.Conflict, await ReloadAsync().ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !requestToken.IsCancellationRequested)
            {
                // A backend or store failure: keep what is durable (parts already written), release, and rethrow.
                await TryKeepWrittenPartsAsync().ConfigureAwait(false);
                throw;
            }

            try
            {
                return outcome switch
                {
                    // Reaching a declared length completes the upload even without an explicit "last data" flag:
                    // no byte can follow, and clients such as tus-js-client with stream input never send one.
                    UploadOutcome.Success when _request.Complete || Total == _length => await CompleteAsync().ConfigureAwait(false),
                    UploadOutcome.Success => await FinishAsync(UploadOutcome.Success, LimitKind.None).ConfigureAwait(false),
                    _ => await FinishAsync(outcome, limit).ConfigureAwait(false),
                };
            }
            catch (LeaseLostException)
            {
                EngineLog.LeaseLost(_owner._logger, _record.Id);
                await AbandonInflightAsync().ConfigureAwait(false);
                return new AppendResult(UploadOutcome.Conflict, await ReloadAsync().ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Same as while reading: a failed final part, tail or completion must not keep the lease.
                await TryKeepWrittenPartsAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>
        /// First buffer: small appends do not need a whole part (one spare byte lets the read see the end of the body),
        /// and one that will only add a tail segment needs no room for the tail either.
        /// </summary>
        private int InitialCapacity()
        {
            if (_request.ContentLength is not long contentLength)
            {
                return (int)_partSize;
            }

            var tail = _tailPending?.Size ?? 0;
            var needed = tail + contentLength + 1;
            var staysTail = needed <= _partSize && !_request.Complete && _startOffset + contentLength != _length && CanAddSegment();
            return (int)Math.Min(_partSize, staysTail ? contentLength + 1 : needed);
        }

        private bool CanAddSegment() => _tailPending is null || _tailPending.Objects.Count < _caps.MaxTailSegments;

        /// <summary>Reads the body into the buffer, writing a part whenever a full one is there. Returns why it stopped.</summary>
        private async Task<(UploadOutcome Outcome, LimitKind Limit)> ReadBodyAsync(Stream body, int partSize, CancellationToken requestToken)
        {
            var maxTotal = _length ?? MaxLength(_target, declared: false);
            var maxAppend = _target.Limits.MaxAppendSize ?? long.MaxValue;
            while (true)
            {
                if (Buffered >= partSize)
                {
                    await FlushFullBufferAsync().ConfigureAwait(false);
                }
                else if (_filled == _buffer!.Length)
                {
                    GrowBuffer(partSize);
                }

                var space = (int)Math.Min(_buffer!.Length - _filled, partSize - Buffered);
                int read;
                try
                {
                    read = await body.ReadAsync(_buffer.AsMemory(_filled, space), requestToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                    EngineLog.AppendInterrupted(_owner._logger, _record.Id, _received);
                    return (UploadOutcome.Interrupted, LimitKind.None);
                }

                if (read == 0)
                {
                    return (UploadOutcome.Success, LimitKind.None);
                }

                // Bytes past a limit are never stored; the bytes before it are kept like an interrupted append.
                var (allowed, violation, limit) = Allow(read, maxTotal, maxAppend);
                Consume(allowed);
                if (violation is not null)
                {
                    return (violation.Value, limit);
                }
            }
        }

        /// <summary>More body than Content-Length announced (or a stream without one): move to a whole part buffer.</summary>
        private void GrowBuffer(int partSize)
        {
            var larger = Pool.Rent(partSize);
            Buffer.BlockCopy(_buffer!, 0, larger, 0, _filled);
            Pool.Return(_buffer!);
            _buffer = larger;
        }

        private (int Allowed, UploadOutcome? Violation, LimitKind Limit) Allow(int read, long maxTotal, long maxAppend)
        {
            if (Total + read > maxTotal)
            {
                var outcome = _length is null ? UploadOutcome.TooLarge : UploadOutcome.LengthMismatch;
                return ((int)(maxTotal - Total), outcome, _length is null ? LimitKind.MaxSize : LimitKind.None);
            }

            if (_received + read > maxAppend)
            {
                return ((int)(maxAppend - _received), UploadOutcome.TooLarge, LimitKind.MaxAppendSize);
            }

            return (read, null, LimitKind.None);
        }

        private void Consume(int count)
        {
            var fresh = _buffer.AsSpan(_filled, count);
            _contentHash?.AppendData(fresh);
            _sha?.Append(fresh);
            _filled += count;
            _received += count;
        }

        private async Task FlushFullBufferAsync()
        {
            await LoadTailAsync().ConfigureAwait(false);
            var flushable = (int)PartPlanner.FlushableLength(_caps, _filled);
            if (flushable == 0)
            {
                throw new InvalidOperationException("Part buffer is smaller than the backend's minimum part size.");
            }

            await WritePartAsync(flushable).ConfigureAwait(false);
        }

        /// <summary>
        /// Reads the durable tail back in front of the buffered bytes (all segments, a few at a time). Needed only when
        /// its bytes go into a part or into a rewritten tail.
        /// </summary>
        private async Task LoadTailAsync()
        {
            if (_tailPending is not { } tail)
            {
                return;
            }

            var size = (int)tail.Size;
            if (_buffer!.Length < size + _filled)
            {
                var larger = Pool.Rent(size + _filled);
                Buffer.BlockCopy(_buffer, 0, larger, size, _filled);
                Pool.Return(_buffer);
                _buffer = larger;
            }
            else
            {
                Buffer.BlockCopy(_buffer, 0, _buffer, size, _filled);
            }

            var objects = tail.Objects;
            var starts = new int[objects.Count];
            for (var i = 1; i < objects.Count; i++)
            {
                starts[i] = starts[i - 1] + (int)objects[i - 1].Size;
            }

            var buffer = _buffer;
            var record = _record;
            var missing = new List<int>(objects.Count);
            for (var i = 0; i < objects.Count; i++)
            {
                if (!_owner._engine.TailCache.TryCopyTo(record.Id, objects[i].Sequence, buffer.AsSpan(starts[i], (int)objects[i].Size)))
                {
                    missing.Add(i);
                }
            }

            await Parallel.ForEachAsync(
                missing,
                new ParallelOptions { MaxDegreeOfParallelism = TailObjectsAtOnce, CancellationToken = SalvageToken },
                (i, ct) => new ValueTask(Tails.ReadAsync(record, objects[i], buffer.AsMemory(starts[i], (int)objects[i].Size), ct)))
                .ConfigureAwait(false);
            _filled += size;
            _tailInBuffer = size;
            _tailPending = null;
        }

        /// <summary>
        /// Starts writing <c>_buffer[0..count)</c> as the next part and goes on with a fresh buffer holding the rest.
        /// With <c>_concurrency</c> 0 the write finishes first; otherwise up to that many run while reading goes on.
        /// </summary>
        private async Task WritePartAsync(int count)
        {
            Debug.Assert(_tailPending is null, "The tail is read back before a part is cut.");
            if (_concurrency > 0)
            {
                // Room first: at most _concurrency writes run at once (their buffers plus the one being filled).
                await CollectAsync(keep: _concurrency - 1, commit: true).ConfigureAwait(false);
            }

            await EnsureLeaseAsync().ConfigureAwait(false);
            var number = _record.Parts.Count + _pendingParts.Count + _inflight.Count + 1;
            var buffer = _buffer!;
            var record = _record;
            var offset = _partsEnd;
            var content = buffer.AsMemory(0, count);
            var write = _concurrency == 0
                ? Backend.WritePartAsync(record, number, offset, content, SalvageToken)
                // Off the reading loop: a backend may hash the part synchronously before its first await.
                : Task.Run(() => Backend.WritePartAsync(record, number, offset, content, SalvageToken), SalvageToken);
            _inflight.Enqueue(new InflightPart(offset, count, buffer, write));
            _partsEnd += count;
            _tailInBuffer = Math.Max(0, _tailInBuffer - count);
            var rest = _filled - count;
            var restBytes = rest > 0 ? buffer.AsSpan(count, rest).ToArray() : null;
            _buffer = null;
            _filled = 0;

            // Record what finished; with _concurrency 0 this waits for the write just started, before the next buffer.
            await CollectAsync(keep: _concurrency, commit: true).ConfigureAwait(false);
            var capacity = _request.ContentLength is long contentLength ? Math.Min(_partSize, rest + Math.Max(0, contentLength - _received) + 1) : _partSize;
            _buffer = Pool.Rent((int)capacity);
            restBytes?.CopyTo(_buffer, 0);
            _filled = rest;
        }

        /// <summary>
        /// Takes finished part writes off the queue in order (those done, and the oldest while more than
        /// <paramref name="keep"/> run) and records them. A failed write is thrown after the writes behind it were
        /// abandoned: they are never recorded, because the record must not skip a part.
        /// </summary>
        private async Task CollectAsync(int keep, bool commit)
        {
            var collected = false;
            while (_inflight.TryPeek(out var head) && (head.Write.IsCompleted || _inflight.Count > keep))
            {
                _inflight.Dequeue();
                PartRecord written;
                try
                {
                    written = await head.Write.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    Pool.Return(head.Buffer);
                    await AbandonInflightAsync().ConfigureAwait(false);
                    throw;
                }

                Pool.Return(head.Buffer);
                _pendingParts.Add(written);
                _completedEnd = head.Offset + head.Size;
                _uncommittedInPlace += head.Size;
                collected = true;
            }

            // The first part of an append holds the whole tail, so once parts are recorded the old tail is obsolete.
            if (commit && collected && !_atomic && (_caps.TracksParts || _uncommittedInPlace >= InPlaceCommitInterval))
            {
                await CommitAsync(newTail: null, keepTail: false, release: false).ConfigureAwait(false);
            }
        }

        /// <summary>Waits for part writes that will not be recorded, so their buffers and part numbers are free again.</summary>
        private async Task AbandonInflightAsync()
        {
            while (_inflight.TryDequeue(out var part))
            {
                try
                {
                    await part.Write.ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // Unrecorded either way: a later write of the same part number replaces it.
                    EngineLog.CleanupFailed(_owner._logger, _record.Id, ex);
                }

                Pool.Return(part.Buffer);
            }

            _partsEnd = _completedEnd;
        }

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

            // Tracked parts count against MaxParts, which the part size was planned for: a remainder above the
            // minimum but short of a whole part stays in the tail, or small appends would use up the part numbers.
            if (!(_caps.TracksParts && Buffered < _partSize) && PartPlanner.FlushableLength(_caps, Buffered) > 0)
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
                await Tails.WriteAsync(_record, sequence, _buffer.AsMemory(0, _filled), SalvageToken).ConfigureAwait(false);
                newTail = segmented.Append(sequence, _filled);
            }
            else
            {
                await LoadTailAsync().ConfigureAwait(false);
                keepTail = _filled > 0 && _filled == _tailInBuffer;
                if (_filled > 0 && !keepTail)
                {
                    await EnsureLeaseAsync().ConfigureAwait(false);
                    await Tails.WriteAsync(_record, sequence, _buffer.AsMemory(0, _filled), SalvageToken).ConfigureAwait(false);
                    newTail = new TailRecord(sequence, _filled);
                }
            }

            await CommitAsync(newTail, keepTail, release: true).ConfigureAwait(false);
            if (newTail is not null)
            {
                // Recorded now: the bytes under this sequence number are final (see TailSegmentCache).
                _owner._engine.TailCache.Add(_record.Id, sequence, _buffer.AsSpan(0, _filled));
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

            await CollectAsync(keep: 0, commit: false).ConfigureAwait(false);
            await LoadTailAsync().ConfigureAwait(false);
            if (_filled > 0)
            {
                await WritePartAsync(_filled).ConfigureAwait(false);
                await CollectAsync(keep: 0, commit: false).ConfigureAwait(false);
            }

            var completing = await CommitAsync(newTail: null, keepTail: false, release: false, UploadState.Completing).ConfigureAwait(false);
            var committed = await _owner._completion.CommitObjectAsync(_target, completing, SalvageToken).ConfigureAwait(false);
            if (committed.Outcome != UploadOutcome.Success)
            {
                return committed;
            }

            _record = committed.Upload!;
            await ForgetTailsQuietlyAsync().ConfigureAwait(false);
            _owner._completion.ReportCompleted(_target.Name, _record);
            return new AppendResult(UploadOutcome.Success, _record);
        }

        private async Task<AppendResult> RejectWholeUploadAsync()
        {
            EngineLog.ReprDigestMismatch(_owner._logger, _record.Id);
            await AbandonInflightAsync().ConfigureAwait(false);
            _record = await _owner._completion.CancelMismatchedAsync(_target, _record, SalvageToken).ConfigureAwait(false);
            return new AppendResult(UploadOutcome.DigestMismatch, _record);
        }

        private bool DigestMatches() =>
            _contentHash is null || CryptographicOperations.FixedTimeEquals(_contentHash.GetCurrentHash(), _request.ContentDigest!.Value);

        /// <summary>Records the parts written so far (and the new tail); old tails are deleted once nothing points at them.</summary>
        private async Task<UploadRecord> CommitAsync(TailRecord? newTail, bool keepTail, bool release, UploadState state = UploadState.Open)
        {
            var oldTail = _record.Tail;
            var tail = keepTail ? oldTail : newTail;
            var committedParts = _caps.TracksParts ? [.. _record.Parts, .. _pendingParts] : _record.Parts;
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
                    LeaseOwner = release ? null : _owner._options.InstanceId,
                    LeaseUntil = release ? null : _owner.Now + _owner._options.LeaseDuration,
                    UpdatedAt = _owner.Now,
                };
                var written = await _owner._store.TryReplaceAsync(updated, SalvageToken).ConfigureAwait(false);
                if (written.Status == MetadataWriteStatus.Success)
                {
                    StorageBridgeTelemetry.BytesAppended.Add(offset - _record.Offset, new KeyValuePair<string, object?>("target", _target.Name));
                    _record = written.Record!;
                    _pendingParts.Clear();
                    _uncommittedInPlace = 0;
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
            _record = await _owner._leases.RefreshOrThrowAsync(_record, SalvageToken).ConfigureAwait(false);

        /// <summary>Never start a backend write in the last half of the lease: renew first (fails if taken over).</summary>
        private async Task EnsureLeaseAsync()
        {
            if (!_owner._leases.NeedsRenewal(_record))
            {
                return;
            }

            while (true)
            {
                if (await _owner._leases.TryRenewAsync(_record, SalvageToken).ConfigureAwait(false) is { } renewed)
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
                var released = _record with { LeaseOwner = null, LeaseUntil = null, UpdatedAt = _owner.Now };
                var written = await _owner._store.TryReplaceAsync(released, SalvageToken).ConfigureAwait(false);
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
                    EngineLog.CleanupFailed(_owner._logger, _record.Id, ex);
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
                EngineLog.CleanupFailed(_owner._logger, _record.Id, ex);
            }
        }

        private async Task DeleteTailsQuietlyAsync(IReadOnlyList<int> sequences)
        {
            var record = _record;
            foreach (var sequence in sequences)
            {
                _owner._engine.TailCache.Remove(record.Id, sequence);
            }

            try
            {
                await Parallel.ForEachAsync(
                    sequences,
                    new ParallelOptions { MaxDegreeOfParallelism = TailObjectsAtOnce, CancellationToken = SalvageToken },
                    (sequence, ct) => new ValueTask(Tails.DeleteAsync(record, sequence, ct))).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // An orphaned tail costs storage only; abort and expiry remove it with the upload.
                EngineLog.CleanupFailed(_owner._logger, _record.Id, ex);
            }
        }

        /// <summary>
        /// After completion: the upload's cached tail bytes, and unrecorded tail objects a failed append left outside the
        /// backend (the backend's completion removes its own).
        /// </summary>
        private async Task ForgetTailsQuietlyAsync()
        {
            _owner._engine.TailCache.RemoveUpload(_record.Id);
            try
            {
                await Tails.DeleteAllAsync(_record, SalvageToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                EngineLog.CleanupFailed(_owner._logger, _record.Id, ex);
            }
        }

        private Task<UploadRecord?> ReloadAsync() => _owner._store.GetAsync(_record.Id, SalvageToken);

        public void Dispose()
        {
            if (_buffer is not null)
            {
                Pool.Return(_buffer);
                _buffer = null;
            }

            // Only when an exception skipped the drain: return those buffers once their writes are over.
            while (_inflight.TryDequeue(out var part))
            {
                var pool = Pool;
                _ = part.Write.ContinueWith(_ => pool.Return(part.Buffer), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }

            _contentHash?.Dispose();
            _salvage.Dispose();
        }
    }

    /// <summary>A part write under way: its bytes stay in <paramref name="Buffer"/> until it is recorded or abandoned.</summary>
    private sealed record InflightPart(long Offset, int Size, byte[] Buffer, Task<PartRecord> Write);
}
