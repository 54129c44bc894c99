using System.Security.Cryptography;
using StorageBridge.Backends;
using StorageBridge.Diagnostics;
using StorageBridge.Hashing;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// One append request from lease to release. Invariant: <c>_buffer[0.._filled)</c> holds the bytes after the
/// last part started (<c>_partsEnd</c>), preceded by the durable tail: either still in the backend
/// (<c>_tailPending</c>, read back only when a part forms or the tail must be rewritten) or read back into the
/// buffer's first <c>_tailInBuffer</c> bytes. Parts started but not yet finished are in <c>_inflight</c>, oldest
/// first; they are recorded strictly in order, so the record never skips a part.
/// </summary>
internal sealed partial class AppendOperation : IDisposable
{
    // Tail objects read back or deleted at once when a part forms from a segmented tail.
    private const int TailObjectsAtOnce = 8;

    private readonly EngineContext _engine;
    private readonly UploadLeases _leases;
    private readonly UploadCompletion _completion;
    private readonly UploadTarget _target;
    private readonly AppendRequest _request;
    private readonly BackendCapabilities _caps;
    private readonly UploadShape _shape;
    private readonly long? _length;
    private readonly bool _atomic;
    private readonly int _concurrency;
    private readonly List<PartRecord> _pendingParts = [];
    private readonly Queue<InflightPart> _inflight = new();
    private readonly IncrementalHash? _contentHash;
    private readonly ResumableSha256? _sha;
    private readonly long _startOffset;
    private readonly CancellationTokenSource _salvage = new(EngineContext.SalvageTimeout);

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

    public AppendOperation(
        EngineContext engine, UploadLeases leases, UploadCompletion completion, UploadTarget target, UploadRecord record, AppendRequest request)
    {
        _engine = engine;
        _leases = leases;
        _completion = completion;
        _target = target;
        _record = record;
        _request = request;
        _shape = target.Shape;
        _caps = _shape.Capabilities;
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

    private ITailStore Tails => _target.Tails;

    private PartBufferPool Pool => _engine.PartBuffers;

    private CancellationToken SalvageToken => _salvage.Token;

    private long Total => _startOffset + _received;

    /// <summary>Bytes after the last part started: the tail (read back or not) plus the buffer.</summary>
    private long Buffered => (_tailPending?.Size ?? 0) + _filled;

    /// <param name="body">
    /// The request body. When the client leaves, reads are not cancelled at once: bytes that arrived with its FIN are
    /// still to be read, and a body that ends or fails on its own when the client is gone (Kestrel's does) is read to
    /// that end. A Kestrel body read cancelled by token could not be read again. Only a body that would wait forever
    /// is cut, <paramref name="abortGrace"/> after <paramref name="requestAborted"/>.
    /// </param>
    /// <param name="takeover">Cancelled when a newer request for the upload takes over from a client still there: reading stops at once.</param>
    public async Task<AppendResult> RunAsync(Stream body, CancellationToken takeover, CancellationToken requestAborted, TimeSpan abortGrace)
    {
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(takeover);
        using var gone = requestAborted.Register(() => reading.CancelAfter(abortGrace));
        try
        {
            return await RunCoreAsync(body, reading.Token).ConfigureAwait(false);
        }
        finally
        {
            // Every exit waits for part writes still running, so a later writer never races a stale one.
            await AbandonInflightAsync().ConfigureAwait(false);
        }
    }

    private async Task<AppendResult> RunCoreAsync(Stream body, CancellationToken reading)
    {
        var outcome = UploadOutcome.Success;
        var limit = LimitKind.None;
        try
        {
            _partSize = _shape.PartSizeFor(_target.PartSize, _length, _partsEnd, _record.Parts.Count);
            _buffer = Pool.Rent(InitialCapacity());
            (outcome, limit) = await ReadBodyAsync(body, (int)_partSize, reading).ConfigureAwait(false);
        }
        catch (LeaseLostException)
        {
            EngineLog.LeaseLost(_engine.Logger, _record.Id);
            await AbandonInflightAsync().ConfigureAwait(false);
            return new AppendResult(UploadOutcome.Conflict, await ReloadAsync().ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !reading.IsCancellationRequested)
        {
            // A backend or store failure: keep what is durable (parts already written), release, and rethrow.
            await TryKeepWrittenPartsAsync().ConfigureAwait(false);
            throw;
        }

        try
        {
            return outcome switch
            {
                // Reaching a declared length completes a tus or Resumable.js upload even without a "last data" flag
                // (no byte can follow); the IETF draft completes only on the client's flag (CompletesAtLength false).
                UploadOutcome.Success when _request.Complete || (_request.CompletesAtLength && Total == _length) =>
                    await CompleteAsync().ConfigureAwait(false),
                UploadOutcome.Success => await FinishAsync(UploadOutcome.Success, LimitKind.None).ConfigureAwait(false),
                // The body went past the known length (the only LengthMismatch reading reports).
                UploadOutcome.LengthMismatch when _request.InvalidatesPastLength => await InvalidateAsync().ConfigureAwait(false),
                _ => await FinishAsync(outcome, limit).ConfigureAwait(false),
            };
        }
        catch (LeaseLostException)
        {
            EngineLog.LeaseLost(_engine.Logger, _record.Id);
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
        var staysTail = needed <= _partSize && !_request.Complete && (!_request.CompletesAtLength || _startOffset + contentLength != _length)
            && CanAddSegment();
        return (int)Math.Min(_partSize, staysTail ? contentLength + 1 : needed);
    }

    private bool CanAddSegment() => _tailPending is null || _tailPending.Objects.Count < _caps.MaxTailSegments;

    /// <summary>Reads the body into the buffer, writing a part whenever a full one is there. Returns why it stopped.</summary>
    private async Task<(UploadOutcome Outcome, LimitKind Limit)> ReadBodyAsync(Stream body, int partSize, CancellationToken reading)
    {
        var maxTotal = _length ?? UploadAdmission.MaxLength(_target, declared: false);
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
                read = await body.ReadAsync(_buffer.AsMemory(_filled, space), reading).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                EngineLog.AppendInterrupted(_engine.Logger, _record.Id, _received);
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

    /// <summary>A part write under way: its bytes stay in <paramref name="Buffer"/> until it is recorded or abandoned.</summary>
    private sealed record InflightPart(long Offset, int Size, byte[] Buffer, Task<PartRecord> Write);
}
