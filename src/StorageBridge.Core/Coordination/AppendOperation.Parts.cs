using System.Diagnostics;
using StorageBridge.Backends;
using StorageBridge.Diagnostics;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>Parts and tails: cutting parts from the buffer, the writes in flight, reading tails back and deleting them.</summary>
internal sealed partial class AppendOperation
{
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
            if (!_engine.TailCache.TryCopyTo(record.Id, objects[i].Sequence, buffer.AsSpan(starts[i], (int)objects[i].Size)))
            {
                missing.Add(i);
            }
        }

        await Parallel.ForEachAsync(
            missing,
            new ParallelOptions { MaxDegreeOfParallelism = TailObjectsAtOnce, CancellationToken = SalvageToken },
            (i, ct) => new ValueTask(Tails.ReadAsync(record.Id, objects[i], buffer.AsMemory(starts[i], (int)objects[i].Size), ct)))
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
        // A backend whose write reaching the declared length commits the object (GCS's final chunk) must not commit
        // one the client has not completed (IETF): without the length that write stays an ordinary chunk.
        var upload = _request.CompletesAtLength || _request.Complete ? BackendUpload.From(_record) : BackendUpload.From(_record) with { Length = null };
        var offset = _partsEnd;
        var content = buffer.AsMemory(0, count);
        var partActivity = EngineActivities.StartBackendCall(_engine.Metrics, "WritePart", _target, _record.Id, number, count);
        Task<PartRecord> write;
        try
        {
            write = _concurrency == 0
                ? _shape.WritePartAsync(upload, number, offset, content, SalvageToken)
                // Off the reading loop: a backend may hash the part synchronously before its first await.
                : Task.Run(() => _shape.WritePartAsync(upload, number, offset, content, SalvageToken), SalvageToken);
        }
        catch
        {
            partActivity?.Dispose(); // thrown before a task existed: ends the call as failed
            throw;
        }

        EngineActivities.EndWith(partActivity, write);
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

        if (commit && collected && !_atomic && _shape.RecordsAfterParts(_uncommittedInPlace))
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
                EngineLog.CleanupFailed(_engine.Logger, _record.Id, ex);
            }

            Pool.Return(part.Buffer);
        }

        _partsEnd = _completedEnd;
    }

    private async Task DeleteTailsQuietlyAsync(IReadOnlyList<int> sequences)
    {
        var record = _record;
        foreach (var sequence in sequences)
        {
            _engine.TailCache.Remove(record.Id, sequence);
        }

        try
        {
            await Parallel.ForEachAsync(
                sequences,
                new ParallelOptions { MaxDegreeOfParallelism = TailObjectsAtOnce, CancellationToken = SalvageToken },
                (sequence, ct) => new ValueTask(Tails.DeleteAsync(record.Id, sequence, ct))).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // An orphaned tail costs storage only; abort and expiry remove it with the upload.
            EngineLog.CleanupFailed(_engine.Logger, _record.Id, ex);
        }
    }

    /// <summary>
    /// After completion: the upload's cached tail bytes, and unrecorded tail objects a failed append left outside the
    /// backend (the backend's completion removes its own).
    /// </summary>
    private async Task ForgetTailsQuietlyAsync()
    {
        _engine.TailCache.RemoveUpload(_record.Id);
        try
        {
            await Tails.DeleteAllAsync(_record.Id, SalvageToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            EngineLog.CleanupFailed(_engine.Logger, _record.Id, ex);
        }
    }
}
