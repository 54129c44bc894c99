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
    /// last part written (<c>_partsEnd</c>); its first <c>_tailInBuffer</c> bytes are the durable tail read back.
    /// </summary>
    private sealed class AppendOperation : IDisposable
    {
        private readonly UploadCoordinator _owner;
        private readonly UploadTarget _target;
        private readonly AppendRequest _request;
        private readonly BackendCapabilities _caps;
        private readonly long? _length;
        private readonly bool _atomic;
        private readonly List<PartRecord> _pendingParts = [];
        private readonly IncrementalHash? _contentHash;
        private readonly ResumableSha256? _sha;
        private readonly long _startOffset;
        private readonly CancellationTokenSource _salvage = new(SalvageTimeout);

        private UploadRecord _record;
        private byte[]? _buffer;
        private int _filled;
        private int _tailInBuffer;
        private long _partsEnd;
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
            _partsEnd = record.PartsLength;
            _atomic = request.ContentDigest is not null;
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

        private CancellationToken SalvageToken => _salvage.Token;

        private long Total => _startOffset + _received;

        public async Task<AppendResult> RunAsync(Stream body, CancellationToken requestToken)
        {
            var outcome = UploadOutcome.Success;
            var limit = LimitKind.None;
            try
            {
                _partSize = PartPlanner.PartSizeFor(_caps, _target.PartSize, _length, _partsEnd, _record.Parts.Count);
                await PrepareBufferAsync(_partSize).ConfigureAwait(false);
                (outcome, limit) = await ReadBodyAsync(body, (int)_partSize, requestToken).ConfigureAwait(false);
            }
            catch (LeaseLostException)
            {
                Log.LeaseLost(_owner._logger, _record.Id);
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
                Log.LeaseLost(_owner._logger, _record.Id);
                return new AppendResult(UploadOutcome.Conflict, await ReloadAsync().ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Same as while reading: a failed final part, tail or completion must not keep the lease.
                await TryKeepWrittenPartsAsync().ConfigureAwait(false);
                throw;
            }
        }

        private async Task PrepareBufferAsync(long partSize)
        {
            var tail = _record.Tail?.Size ?? 0;
            var capacity = partSize;
            if (_request.ContentLength is long contentLength)
            {
                // Small appends do not need a whole part buffer (one spare byte lets the read see the end of the body).
                capacity = Math.Min(partSize, tail + contentLength + 1);
            }

            _buffer = PartBuffers.Rent((int)Math.Max(capacity, tail));
            if (_record.Tail is { } stored)
            {
                await Backend.ReadTailAsync(_record, stored, _buffer.AsMemory(0, (int)stored.Size), SalvageToken).ConfigureAwait(false);
                _filled = _tailInBuffer = (int)stored.Size;
            }
        }

        /// <summary>Reads the body into the buffer, writing a part whenever a full one is there. Returns why it stopped.</summary>
        private async Task<(UploadOutcome Outcome, LimitKind Limit)> ReadBodyAsync(Stream body, int partSize, CancellationToken requestToken)
        {
            var maxTotal = _length ?? MaxLength(_target, declared: false);
            var maxAppend = _target.Limits.MaxAppendSize ?? long.MaxValue;
            while (true)
            {
                if (_filled >= partSize)
                {
                    await FlushFullBufferAsync().ConfigureAwait(false);
                }
                else if (_filled == _buffer!.Length)
                {
                    GrowBuffer(partSize);
                }

                var space = Math.Min(_buffer!.Length, partSize) - _filled;
                int read;
                try
                {
                    read = await body.ReadAsync(_buffer.AsMemory(_filled, space), requestToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                    Log.AppendInterrupted(_owner._logger, _record.Id, _received);
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
            var larger = PartBuffers.Rent(partSize);
            Buffer.BlockCopy(_buffer!, 0, larger, 0, _filled);
            PartBuffers.Return(_buffer!);
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
            var flushable = (int)PartPlanner.FlushableLength(_caps, _filled);
            if (flushable == 0)
            {
                throw new InvalidOperationException("Part buffer is smaller than the backend's minimum part size.");
            }

            await WritePartAsync(flushable).ConfigureAwait(false);
            if (!_atomic && _filled == 0 && (_caps.TracksParts || _uncommittedInPlace >= InPlaceCommitInterval))
            {
                await CommitAsync(newTail: null, keepTail: false, release: false).ConfigureAwait(false);
            }
        }

        /// <summary>Writes <c>_buffer[0..count)</c> as the next part and moves the rest to the buffer's start.</summary>
        private async Task WritePartAsync(int count)
        {
            await EnsureLeaseAsync().ConfigureAwait(false);
            var number = _record.Parts.Count + _pendingParts.Count + 1;
            var part = await Backend.WritePartAsync(_record, number, _partsEnd, _buffer.AsMemory(0, count), SalvageToken).ConfigureAwait(false);
            _pendingParts.Add(part);
            _partsEnd += count;
            _uncommittedInPlace += count;
            Buffer.BlockCopy(_buffer!, count, _buffer!, 0, _filled - count);
            _filled -= count;
            _tailInBuffer = Math.Max(0, _tailInBuffer - count);
        }

        /// <summary>End of a non-completing append (or of a stopped one): parts for what fits, the rest as the new tail.</summary>
        private async Task<AppendResult> FinishAsync(UploadOutcome outcome, LimitKind limit)
        {
            if (_atomic && (outcome != UploadOutcome.Success || !DigestMatches()))
            {
                // Content-Digest appends are all-or-nothing: unrecorded parts and tails stay invisible.
                var failed = outcome == UploadOutcome.Success ? UploadOutcome.DigestMismatch : outcome;
                var released = await ReleaseAsync().ConfigureAwait(false);
                return new AppendResult(failed, released, Limit: limit);
            }

            await StoreRemainderAsync().ConfigureAwait(false);
            return new AppendResult(outcome, _record, Limit: limit);
        }

        private async Task StoreRemainderAsync()
        {
            // Tracked parts count against MaxParts, which the part size was planned for: a remainder above the
            // minimum but short of a whole part stays in the tail, or small appends would use up the part numbers.
            var flushable = _caps.TracksParts && _filled < _partSize ? 0 : (int)PartPlanner.FlushableLength(_caps, _filled);
            if (flushable > 0)
            {
                await WritePartAsync(flushable).ConfigureAwait(false);
            }

            TailRecord? newTail = null;
            var keepTail = _filled > 0 && _filled == _tailInBuffer;
            if (_filled > 0 && !keepTail)
            {
                await EnsureLeaseAsync().ConfigureAwait(false);
                var sequence = _record.TailSequence + 1;
                await Backend.WriteTailAsync(_record, sequence, _buffer.AsMemory(0, _filled), SalvageToken).ConfigureAwait(false);
                newTail = new TailRecord(sequence, _filled);
            }

            await CommitAsync(newTail, keepTail, release: true).ConfigureAwait(false);
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

            if (!ReprDigestMatches())
            {
                return await RejectWholeUploadAsync().ConfigureAwait(false);
            }

            if (_filled > 0)
            {
                await WritePartAsync(_filled).ConfigureAwait(false);
            }

            var completing = await CommitAsync(newTail: null, keepTail: false, release: false, UploadState.Completing).ConfigureAwait(false);
            StoredObject stored;
            try
            {
                stored = await Backend.CompleteAsync(completing, SalvageToken).ConfigureAwait(false);
            }
            catch (ObjectExistsException)
            {
                // Nothing was replaced and every byte is still staged: reopen so the upload is not stuck in Completing.
                var reopened = await _owner._store.TryReplaceAsync(completing with { State = UploadState.Open, LeaseOwner = null, LeaseUntil = null }, SalvageToken).ConfigureAwait(false);
                return new AppendResult(UploadOutcome.ObjectExists, reopened.Record ?? completing);
            }

            var written = await _owner._store.TryReplaceAsync(_owner.CompletedRecord(completing, stored), SalvageToken).ConfigureAwait(false);
            if (written.Status != MetadataWriteStatus.Success)
            {
                throw new LeaseLostException();
            }

            _record = written.Record!;
            StorageBridgeTelemetry.UploadsCompleted.Add(1, new KeyValuePair<string, object?>("target", _target.Name));
            Log.UploadCompleted(_owner._logger, _record.Id, _record.Offset, _record.ObjectKey);
            return new AppendResult(UploadOutcome.Success, _record);
        }

        private async Task<AppendResult> RejectWholeUploadAsync()
        {
            Log.ReprDigestMismatch(_owner._logger, _record.Id);
            var written = await _owner._store.TryReplaceAsync(_owner.Tombstone(_record, UploadState.Cancelled), SalvageToken).ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                _record = written.Record!;
                await Backend.AbortAsync(_record, SalvageToken).ConfigureAwait(false);
            }

            return new AppendResult(UploadOutcome.DigestMismatch, _record);
        }

        private bool DigestMatches() =>
            _contentHash is null || CryptographicOperations.FixedTimeEquals(_contentHash.GetCurrentHash(), _request.ContentDigest!.Value);

        private bool ReprDigestMatches()
        {
            if (_record.ExpectedDigest is not { } expected || _sha is null)
            {
                return true;
            }

            return _record.ExpectedDigestAlgorithm != DigestValue.Sha256
                || CryptographicOperations.FixedTimeEquals(_sha.GetCurrentHash(), Convert.FromBase64String(expected));
        }

        /// <summary>Records the parts written so far (and the new tail); old tails are deleted once nothing points at them.</summary>
        private async Task<UploadRecord> CommitAsync(TailRecord? newTail, bool keepTail, bool release, UploadState state = UploadState.Open)
        {
            var oldTail = _record.Tail;
            var tail = keepTail ? oldTail : newTail;
            var committedParts = _caps.TracksParts ? [.. _record.Parts, .. _pendingParts] : _record.Parts;
            var offset = _partsEnd + (tail?.Size ?? 0);
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
                    if (oldTail is not null && tail != oldTail)
                    {
                        await DeleteTailQuietlyAsync(oldTail.Sequence).ConfigureAwait(false);
                    }

                    return _record;
                }

                await RefreshOrThrowAsync().ConfigureAwait(false);
            }
        }

        /// <summary>After a failed compare-and-swap: continue only if the upload is still ours and unchanged.</summary>
        private async Task RefreshOrThrowAsync()
        {
            var current = await _owner._store.GetAsync(_record.Id, SalvageToken).ConfigureAwait(false);
            if (current is null || current.State != UploadState.Open || current.Offset != _record.Offset
                || current.LeaseOwner != _owner._options.InstanceId)
            {
                throw new LeaseLostException();
            }

            _record = current;
        }

        /// <summary>Never start a backend write in the last half of the lease: renew first (fails if taken over).</summary>
        private async Task EnsureLeaseAsync()
        {
            if (_record.LeaseUntil is { } until && until - _owner.Now > _owner._options.LeaseDuration / 2)
            {
                return;
            }

            while (true)
            {
                var renewed = _record with { LeaseOwner = _owner._options.InstanceId, LeaseUntil = _owner.Now + _owner._options.LeaseDuration };
                var written = await _owner._store.TryReplaceAsync(renewed, SalvageToken).ConfigureAwait(false);
                if (written.Status == MetadataWriteStatus.Success)
                {
                    _record = written.Record!;
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
            _partsEnd = _record.PartsLength;
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
                // A running hash already covers the discarded buffer bytes, so with one nothing new may be recorded.
                if (_atomic || _pendingParts.Count == 0 || _sha is not null)
                {
                    await CommitWithoutDataAsync().ConfigureAwait(false);
                    return;
                }

                // The tail read back (if any) was rewritten into a part or is still in the buffer: keep the old tail
                // only when no part consumed it.
                _filled = 0;
                var keepTail = _record.Tail is not null && _partsEnd == _record.PartsLength;
                await CommitAsync(newTail: null, keepTail, release: true).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The original failure matters more; the lease lapses on its own.
                Log.CleanupFailed(_owner._logger, _record.Id, ex);
            }
        }

        private async Task DeleteTailQuietlyAsync(int sequence)
        {
            try
            {
                await Backend.DeleteTailAsync(_record, sequence, SalvageToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // An orphaned tail costs storage only; abort and expiry remove it with the upload.
                Log.CleanupFailed(_owner._logger, _record.Id, ex);
            }
        }

        private Task<UploadRecord?> ReloadAsync() => _owner._store.GetAsync(_record.Id, SalvageToken);

        public void Dispose()
        {
            if (_buffer is not null)
            {
                PartBuffers.Return(_buffer);
                _buffer = null;
            }

            _contentHash?.Dispose();
            _salvage.Dispose();
        }
    }

    private sealed class LeaseLostException : Exception
    {
        public LeaseLostException()
            : base("Another writer took over the upload.")
        {
        }
    }
}
