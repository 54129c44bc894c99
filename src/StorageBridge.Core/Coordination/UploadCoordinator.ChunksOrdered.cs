using System.Globalization;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// The ordered path of numbered chunks (backends whose parts cannot take chunks directly): the chunk at the upload's
/// offset streams through the append path; a chunk that arrives early is staged in tail slots and replayed in order.
/// </summary>
public sealed partial class UploadCoordinator
{
    private async Task<ChunkResult> WriteOrderedChunkAsync(
        UploadTarget target, UploadRecord upload, ChunkLayout layout, int number, Stream body, ChunkGate gate, CancellationToken cancellationToken)
    {
        var start = layout.Start(number);
        var end = layout.End(number);
        while (true)
        {
            if (IsChunkStored(upload, layout, number) || !upload.IsActive)
            {
                var duplicate = await DuplicateAsync(upload, layout, body, cancellationToken).ConfigureAwait(false);
                if (duplicate.Upload is { State: UploadState.Open } open && AllChunksStored(open, layout))
                {
                    // Everything is there but not appended yet (a drain that stopped, or an instance that died holding
                    // the lease): this retry finishes the job.
                    await RequestDrainAsync(target, upload.Id, layout, gate, wait: true, cancellationToken).ConfigureAwait(false);
                    return await ChunkStateAsync(upload.Id, layout).ConfigureAwait(false);
                }

                return duplicate;
            }

            // The chunk just before this one is on its way in this process: wait for it rather than stage a copy.
            if (upload.Offset < start && gate.InFlight(number - 1) is { } previous)
            {
                await WaitQuietlyAsync(previous, cancellationToken).ConfigureAwait(false);
                upload = await ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (upload.Offset < start || LeaseHeldByOther(upload))
            {
                return await StageChunkAsync(target, upload, layout, number, body, gate, cancellationToken).ConfigureAwait(false);
            }

            await gate.Appending.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                upload = await ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
                if (upload.Offset < start || (upload.Offset >= end && end > start) || !upload.IsActive || LeaseHeldByOther(upload))
                {
                    continue; // it changed while this request waited: decide again
                }

                var appended = await AppendChunkBytesAsync(target, upload, layout, number, body, cancellationToken).ConfigureAwait(false);
                if (appended.Outcome == UploadOutcome.Conflict && body is ExactLengthStream { Position: 0 })
                {
                    // Another instance started appending first (its lease): nothing of the body was read, decide again.
                    upload = await ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (appended.Outcome != UploadOutcome.Success)
                {
                    return new ChunkResult(appended.Outcome, appended.Upload, "Another request changed this upload; retry the chunk.");
                }

                Interlocked.Exchange(ref gate.PendingDrain, 0);
                await DrainStagedChunksAsync(target, upload.Id, layout, takeOver: false).ConfigureAwait(false);
            }
            finally
            {
                gate.Appending.Release();
            }

            await RequestDrainAsync(target, upload.Id, layout, gate, wait: false, cancellationToken).ConfigureAwait(false);
            return await ChunkStateAsync(upload.Id, layout).ConfigureAwait(false);
        }
    }

    /// <summary>Appends the chunk's bytes from the upload's offset (which may lie inside the chunk after an interruption).</summary>
    private async Task<AppendResult> AppendChunkBytesAsync(
        UploadTarget target, UploadRecord upload, ChunkLayout layout, int number, Stream body, CancellationToken cancellationToken)
    {
        var skip = upload.Offset - layout.Start(number);
        var scratch = PartBuffers.Rent((int)Math.Min(Math.Max(skip, 1), 1 << 20));
        try
        {
            for (var left = skip; left > 0;)
            {
                var read = await body.ReadAsync(scratch.AsMemory(0, (int)Math.Min(left, scratch.Length)), cancellationToken).ConfigureAwait(false);
                left -= read;
            }
        }
        finally
        {
            PartBuffers.Return(scratch);
        }

        var end = layout.End(number);
        var result = await AppendAsync(
            new AppendRequest
            {
                Target = target.Name,
                Id = upload.Id,
                Offset = upload.Offset,
                Complete = end == layout.TotalSize,
                ContentLength = end - upload.Offset,
            },
            body,
            new AppendOptions(FromChunks: true, YieldToOtherInstance: true),
            cancellationToken).ConfigureAwait(false);
        if (result.Outcome == UploadOutcome.Interrupted && !cancellationToken.IsCancellationRequested)
        {
            // Ended by a newer request for the upload in this process; the received prefix was kept.
            return result with { Outcome = UploadOutcome.Conflict };
        }

        if (result.Upload?.State == UploadState.Completed)
        {
            await DropAllStagedAsync(target, result.Upload, layout).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>Keeps a chunk that cannot be appended yet in tail slots, then lets whoever can append replay it.</summary>
    private async Task<ChunkResult> StageChunkAsync(
        UploadTarget target, UploadRecord upload, ChunkLayout layout, int number, Stream body, ChunkGate gate, CancellationToken cancellationToken)
    {
        var size = layout.SizeOf(number);
        var pieceSize = (long)Math.Max(1, Math.Min(target.PartSize, size));
        var pieces = (int)((size + pieceSize - 1) / pieceSize);
        var (reserved, first) = await ReserveStagingAsync(upload, layout, number, pieceSize, pieces, cancellationToken).ConfigureAwait(false);
        if (reserved is null)
        {
            return await DuplicateAsync(await ReloadAsync(upload, cancellationToken).ConfigureAwait(false), layout, body, cancellationToken).ConfigureAwait(false);
        }

        var entry = new StagedChunk(number, first, pieceSize, Ready: false);
        var buffer = PartBuffers.Rent((int)pieceSize);
        using var salvage = new CancellationTokenSource(SalvageTimeout);
        try
        {
            for (var i = 0; i < pieces; i++)
            {
                var length = (int)Math.Min(pieceSize, size - (i * pieceSize));
                await ReadFullyAsync(body, buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                await target.Tails.WriteAsync(reserved.Id, first + i, buffer.AsMemory(0, length), salvage.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            await DropStagedAsync(target, reserved, layout, entry).ConfigureAwait(false);
            // Another copy of this chunk arrived first and the upload moved on (completed): a duplicate, not a failure.
            var superseded = ex is InvalidDataException or OperationCanceledException ? null : await SupersededAsync(upload, layout, number).ConfigureAwait(false);
            if (superseded is null)
            {
                throw;
            }

            await body.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
            return superseded;
        }
        finally
        {
            PartBuffers.Return(buffer);
        }

        var marked = await MarkStagedAsync(target, reserved, layout, entry, salvage.Token).ConfigureAwait(false);
        // The request that brings the last missing chunk waits for the commit, so its answer can say "complete".
        await RequestDrainAsync(target, upload.Id, layout, gate, wait: AllChunksStored(marked, layout), cancellationToken).ConfigureAwait(false);
        return await ChunkStateAsync(upload.Id, layout).ConfigureAwait(false);
    }

    /// <summary>
    /// Records slots for a staged chunk before any byte is written, so cancel and expiry (which drop tails
    /// 1..TailSequence) also drop slots of a request that died. The slots start at TailSequence + 2: an append running
    /// now may write its tail at the TailSequence + 1 it read, and TailSequence only grows, so the two never meet.
    /// </summary>
    private async Task<(UploadRecord? Record, int First)> ReserveStagingAsync(
        UploadRecord upload, ChunkLayout layout, int number, long pieceSize, int pieces, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (IsChunkStored(upload, layout, number) || upload.State != UploadState.Open)
            {
                return (null, 0);
            }

            var first = checked(upload.TailSequence + 2);
            var staged = StagedChunk.Parse(upload);
            staged.Add(new StagedChunk(number, first, pieceSize, Ready: false));
            var updated = upload with
            {
                TailSequence = checked(first + pieces - 1),
                ProtocolState = StagedChunk.With(upload.ProtocolState, staged),
                UpdatedAt = Now,
            };
            var written = await _store.TryReplaceAsync(updated, cancellationToken).ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                return (written.Record, first);
            }

            upload = await ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<UploadRecord> MarkStagedAsync(UploadTarget target, UploadRecord upload, ChunkLayout layout, StagedChunk entry, CancellationToken cancellationToken)
    {
        while (true)
        {
            var staged = StagedChunk.Parse(upload);
            var index = staged.FindIndex(s => s.Chunk == entry.Chunk && s.FirstSequence == entry.FirstSequence);
            if (index < 0 || upload.State != UploadState.Open || IsChunkStored(upload, layout, entry.Chunk))
            {
                // Another copy made it first (or the upload moved on): these slots are not needed.
                await DropStagedAsync(target, upload, layout, entry).ConfigureAwait(false);
                return await ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
            }

            staged[index] = entry with { Ready = true };
            var written = await _store.TryReplaceAsync(upload with { ProtocolState = StagedChunk.With(upload.ProtocolState, staged), UpdatedAt = Now }, cancellationToken)
                .ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                return written.Record!;
            }

            upload = await ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes a staged chunk's slots and its entry (best effort: cancel and expiry drop leftovers).</summary>
    private async Task DropStagedAsync(UploadTarget target, UploadRecord upload, ChunkLayout layout, StagedChunk entry)
    {
        using var salvage = new CancellationTokenSource(SalvageTimeout);
        try
        {
            for (var current = upload; current.State == UploadState.Open;)
            {
                var staged = StagedChunk.Parse(current);
                if (staged.RemoveAll(s => s.FirstSequence == entry.FirstSequence) == 0)
                {
                    break;
                }

                var written = await _store.TryReplaceAsync(current with { ProtocolState = StagedChunk.With(current.ProtocolState, staged) }, salvage.Token).ConfigureAwait(false);
                if (written.Status == MetadataWriteStatus.Success)
                {
                    break;
                }

                current = await _store.GetAsync(current.Id, salvage.Token).ConfigureAwait(false) ?? current with { State = UploadState.Cancelled };
            }

            var pieces = (int)((layout.SizeOf(entry.Chunk) + entry.PieceSize - 1) / entry.PieceSize);
            for (var i = 0; i < pieces; i++)
            {
                await target.Tails.DeleteAsync(upload.Id, entry.FirstSequence + i, salvage.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.CleanupFailed(_logger, upload.Id, ex);
        }
    }

    /// <summary>
    /// Asks for the staged chunks to be replayed. If another request of this process is appending, it is told to look
    /// again when it is done (<see cref="ChunkGate.PendingDrain"/>) and this request does not wait, unless <paramref name="wait"/>:
    /// then it also waits out another instance's lease (released, or lapsed because that instance died), so an upload
    /// whose chunks are all stored never stays incomplete.
    /// </summary>
    private async Task RequestDrainAsync(UploadTarget target, string uploadId, ChunkLayout layout, ChunkGate gate, bool wait, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref gate.PendingDrain, 1);
        while (Volatile.Read(ref gate.PendingDrain) == 1)
        {
            if (wait)
            {
                await gate.Appending.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (!await gate.Appending.WaitAsync(0, CancellationToken.None).ConfigureAwait(false))
            {
                return;
            }

            try
            {
                Interlocked.Exchange(ref gate.PendingDrain, 0);
                await DrainStagedChunksAsync(target, uploadId, layout, takeOver: wait).ConfigureAwait(false);
            }
            finally
            {
                gate.Appending.Release();
            }
        }
    }

    /// <summary>
    /// Replays staged chunks at the upload's offset through the append path, in order, until the next chunk is
    /// missing. Runs under <see cref="ChunkGate.Appending"/>; leaves the upload to another instance holding the lease
    /// (that one drains after its own append). Not bound to the request: staged bytes are durable, replay is cheap to finish.
    /// </summary>
    private async Task DrainStagedChunksAsync(UploadTarget target, string uploadId, ChunkLayout layout, bool takeOver)
    {
        using var salvage = new CancellationTokenSource(SalvageTimeout);
        var token = salvage.Token;
        try
        {
            while (await _store.GetAsync(uploadId, token).ConfigureAwait(false) is { State: UploadState.Open } upload)
            {
                if (LeaseHeldByOther(upload))
                {
                    if (!takeOver)
                    {
                        return; // that instance replays the staged chunks after its own append
                    }

                    // Never take a live lease away (two instances would keep stealing it from each other): wait until
                    // its holder releases it, or until it lapses because the holder died.
                    await Task.Delay(LeasePollInterval, token).ConfigureAwait(false);
                    continue;
                }

                var staged = StagedChunk.Parse(upload);
                if (staged.FirstOrDefault(s => s.Ready && layout.End(s.Chunk) <= upload.Offset) is { } obsolete)
                {
                    await DropStagedAsync(target, upload, layout, obsolete).ConfigureAwait(false);
                    continue;
                }

                var next = staged.FirstOrDefault(s => s.Ready && layout.Start(s.Chunk) <= upload.Offset && upload.Offset < layout.End(s.Chunk));
                if (next is null)
                {
                    if (upload.Offset == layout.TotalSize)
                    {
                        // Every byte is in but the commit did not happen (e.g. it was refused before): try it again.
                        await AppendAsync(new AppendRequest { Target = target.Name, Id = uploadId, Offset = upload.Offset, Complete = true, ContentLength = 0 }, Stream.Null, new AppendOptions(FromChunks: true), token)
                            .ConfigureAwait(false);
                    }

                    return;
                }

                var size = layout.SizeOf(next.Chunk);
                var piece = PartBuffers.Rent((int)Math.Min(next.PieceSize, size));
                AppendResult result;
                try
                {
                    var skip = upload.Offset - layout.Start(next.Chunk);
                    using var replay = new StagedChunkStream(target.Tails, upload, next.FirstSequence, next.PieceSize, size, skip, piece);
                    result = await AppendAsync(
                        new AppendRequest
                        {
                            Target = target.Name,
                            Id = uploadId,
                            Offset = upload.Offset,
                            Complete = layout.End(next.Chunk) == layout.TotalSize,
                            ContentLength = size - skip,
                        },
                        replay,
                        new AppendOptions(FromChunks: true, YieldToOtherInstance: true),
                        token).ConfigureAwait(false);
                }
                finally
                {
                    PartBuffers.Return(piece);
                }

                if (result.Outcome == UploadOutcome.OffsetMismatch)
                {
                    continue; // another instance appended meanwhile: look again from its offset
                }

                if (result.Outcome == UploadOutcome.Conflict)
                {
                    continue; // another instance started appending first: the loop above waits for it or leaves it the work
                }

                if (result.Outcome != UploadOutcome.Success)
                {
                    Log.ChunkReplayStopped(_logger, uploadId, next.Chunk, result.Outcome);
                    return;
                }

                if (result.Upload?.State == UploadState.Completed)
                {
                    await DropAllStagedAsync(target, result.Upload, layout).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The staged chunks stay recorded; the next chunk request of this upload replays them again.
            Log.ChunkReplayFailed(_logger, uploadId, ex);
        }
    }

    private async Task DropAllStagedAsync(UploadTarget target, UploadRecord completed, ChunkLayout layout)
    {
        foreach (var entry in StagedChunk.Parse(completed))
        {
            await DropStagedAsync(target, completed, layout, entry).ConfigureAwait(false);
        }
    }


    /// <summary>In-process coordination of one upload's chunk requests (instances coordinate through the record).</summary>
    private sealed class ChunkGate
    {
        private readonly Dictionary<int, Task> _inFlight = [];

        /// <summary>Held while this process appends to the upload: two appends from here would cancel each other.</summary>
        public SemaphoreSlim Appending { get; } = new(1, 1);

        /// <summary>1 when a staged chunk was recorded while <see cref="Appending"/> was held: the holder looks again.</summary>
        public int PendingDrain;

        /// <summary>Guarded by the registry lock.</summary>
        public int Users { get; set; }

        public Task? InFlight(int number)
        {
            lock (_inFlight)
            {
                return _inFlight.GetValueOrDefault(number);
            }
        }

        /// <summary>Claims a chunk number; returns the task of an earlier request holding it instead, if any.</summary>
        public Task? TryClaim(int number, Task mine)
        {
            lock (_inFlight)
            {
                if (_inFlight.TryGetValue(number, out var earlier) && earlier != mine)
                {
                    return earlier;
                }

                _inFlight[number] = mine;
                return null;
            }
        }

        public void Release(int number, Task mine)
        {
            lock (_inFlight)
            {
                if (_inFlight.GetValueOrDefault(number) == mine)
                {
                    _inFlight.Remove(number);
                }
            }
        }
    }

    /// <summary>A chunk kept in tail slots FirstSequence.. (pieces of PieceSize bytes); Ready once every piece is written.</summary>
    private sealed record StagedChunk(int Chunk, int FirstSequence, long PieceSize, bool Ready)
    {
        public static List<StagedChunk> Parse(UploadRecord upload)
        {
            var list = new List<StagedChunk>();
            if (upload.ProtocolState.GetValueOrDefault(StagedKey) is not { Length: > 0 } value)
            {
                return list;
            }

            foreach (var item in value.Split(','))
            {
                var f = item.Split(':');
                list.Add(new StagedChunk(
                    int.Parse(f[0], CultureInfo.InvariantCulture),
                    int.Parse(f[1], CultureInfo.InvariantCulture),
                    long.Parse(f[2], CultureInfo.InvariantCulture),
                    f[3] == "1"));
            }

            return list;
        }

        public static Dictionary<string, string> With(IReadOnlyDictionary<string, string> state, List<StagedChunk> staged)
        {
            var copy = new Dictionary<string, string>(state, StringComparer.Ordinal);
            if (staged.Count == 0)
            {
                copy.Remove(StagedKey);
            }
            else
            {
                copy[StagedKey] = string.Join(',', staged.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Chunk}:{s.FirstSequence}:{s.PieceSize}:{(s.Ready ? 1 : 0)}")));
            }

            return copy;
        }
    }
}
