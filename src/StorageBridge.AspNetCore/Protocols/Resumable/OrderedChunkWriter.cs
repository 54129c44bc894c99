using Microsoft.Extensions.Logging;
using StorageBridge.Coordination;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>
/// The ordered path of numbered chunks (backends whose parts cannot take chunks directly): the chunk at the upload's
/// offset is appended; a chunk that arrives early is staged (<see cref="UploadAssembler.TryReserveStagingAsync"/>),
/// listed in <see cref="ChunkUploadState.Staged"/>, and replayed in order once the chunks before it are in.
/// </summary>
internal sealed class OrderedChunkWriter(UploadAssembler assembler, ChunkAnswers answers, ILogger logger)
{
    private static readonly TimeSpan LeasePollInterval = TimeSpan.FromMilliseconds(50);

    public async Task<ChunkResult> WriteAsync(UploadRecord upload, ChunkLayout layout, int number, ExactLengthStream body, ChunkGate gate, CancellationToken cancellationToken)
    {
        var start = layout.Start(number);
        var end = layout.End(number);
        while (true)
        {
            if (ChunkAnswers.IsStored(upload, number) || !upload.IsActive)
            {
                var duplicate = await answers.DuplicateAsync(upload, body, cancellationToken).ConfigureAwait(false);
                if (duplicate.Upload is { State: UploadState.Open } open && ChunkUploadState.Read(open)?.AllStored(open) == true)
                {
                    // Everything is there but not appended yet (a drain that stopped, or an instance that died holding
                    // the lease): this retry finishes the job.
                    await RequestDrainAsync(upload.Id, layout, gate, wait: true, cancellationToken).ConfigureAwait(false);
                    return await answers.StateAsync(upload.Id).ConfigureAwait(false);
                }

                return duplicate;
            }

            // The chunk just before this one is on its way in this process: wait for it rather than stage a copy.
            if (upload.Offset < start && gate.InFlight(number - 1) is { } previous)
            {
                await ChunkGate.WaitQuietlyAsync(previous, cancellationToken).ConfigureAwait(false);
                upload = await answers.ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (upload.Offset < start || assembler.IsLeasedByOtherInstance(upload))
            {
                return await StageAsync(upload, layout, number, body, gate, cancellationToken).ConfigureAwait(false);
            }

            await gate.Appending.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                upload = await answers.ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
                if (upload.Offset < start || (upload.Offset >= end && end > start) || !upload.IsActive || assembler.IsLeasedByOtherInstance(upload))
                {
                    continue; // it changed while this request waited: decide again
                }

                var appended = await AppendChunkBytesAsync(upload, layout, number, body, cancellationToken).ConfigureAwait(false);
                if (appended.Outcome == UploadOutcome.Conflict && body.Position == 0)
                {
                    // Another instance started appending first (its lease): nothing of the body was read, decide again.
                    upload = await answers.ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (appended.Outcome != UploadOutcome.Success)
                {
                    return new ChunkResult(appended.Outcome, appended.Upload, "Another request changed this upload; retry the chunk.");
                }

                Interlocked.Exchange(ref gate.PendingDrain, 0);
                await DrainAsync(upload.Id, layout, takeOver: false).ConfigureAwait(false);
            }
            finally
            {
                gate.Appending.Release();
            }

            await RequestDrainAsync(upload.Id, layout, gate, wait: false, cancellationToken).ConfigureAwait(false);
            return await answers.StateAsync(upload.Id).ConfigureAwait(false);
        }
    }

    /// <summary>Appends the chunk's bytes from the upload's offset (which may lie inside the chunk after an interruption).</summary>
    private async Task<AppendResult> AppendChunkBytesAsync(UploadRecord upload, ChunkLayout layout, int number, Stream body, CancellationToken cancellationToken)
    {
        var skip = upload.Offset - layout.Start(number);
        if (skip > 0)
        {
            var scratch = new byte[(int)Math.Min(skip, 64 * 1024)];
            for (var left = skip; left > 0;)
            {
                left -= await body.ReadAsync(scratch.AsMemory(0, (int)Math.Min(left, scratch.Length)), cancellationToken).ConfigureAwait(false);
            }
        }

        var end = layout.End(number);
        var result = await assembler.AppendAsync(
            new AppendRequest
            {
                Target = upload.Target,
                Id = upload.Id,
                Owner = upload.Owner,
                Offset = upload.Offset,
                Complete = end == layout.TotalSize,
                ContentLength = end - upload.Offset,
            },
            body,
            yieldToOtherInstance: true,
            cancellationToken).ConfigureAwait(false);
        if (result.Upload?.State == UploadState.Completed)
        {
            await DropAllStagedAsync(result.Upload).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>Keeps a chunk that cannot be appended yet as staged bytes, then lets whoever can append replay it.</summary>
    private async Task<ChunkResult> StageAsync(UploadRecord upload, ChunkLayout layout, int number, Stream body, ChunkGate gate, CancellationToken cancellationToken)
    {
        var reservation = await ReserveAsync(upload, layout, number, cancellationToken).ConfigureAwait(false);
        if (reservation is null)
        {
            return await answers.DuplicateAsync(await answers.ReloadAsync(upload, cancellationToken).ConfigureAwait(false), body, cancellationToken).ConfigureAwait(false);
        }

        var entry = new StagedChunk(number, reservation.Range, Ready: false);
        try
        {
            await assembler.WriteStagedAsync(reservation.Upload, reservation.Range, body, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await DropStagedAsync(reservation.Upload, entry).ConfigureAwait(false);
            // Another copy of this chunk arrived first and the upload moved on (completed): a duplicate, not a failure.
            var superseded = ex is InvalidDataException or OperationCanceledException ? null : await answers.SupersededAsync(upload, number).ConfigureAwait(false);
            if (superseded is null)
            {
                throw;
            }

            await body.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
            return superseded;
        }

        using var salvage = new CancellationTokenSource(ChunkAnswers.SalvageTimeout);
        var marked = await MarkStagedAsync(reservation.Upload, entry, salvage.Token).ConfigureAwait(false);
        // The request that brings the last missing chunk waits for the commit, so its answer can say "complete".
        var allStored = ChunkUploadState.Read(marked)?.AllStored(marked) == true;
        await RequestDrainAsync(upload.Id, layout, gate, wait: allStored, cancellationToken).ConfigureAwait(false);
        return await answers.StateAsync(upload.Id).ConfigureAwait(false);
    }

    /// <summary>Records the chunk's staged bytes (not ready yet) with the slots the engine reserves for them; null when the chunk is stored meanwhile.</summary>
    private async Task<StagingReservation?> ReserveAsync(UploadRecord upload, ChunkLayout layout, int number, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (ChunkAnswers.IsStored(upload, number) || upload.State != UploadState.Open)
            {
                return null;
            }

            var state = ChunkUploadState.Of(upload);
            var reserved = await assembler.TryReserveStagingAsync(
                upload,
                layout.SizeOf(number),
                range => (state with { Staged = [.. state.Staged, new StagedChunk(number, range, Ready: false)] }).WriteTo(upload.ProtocolState),
                cancellationToken).ConfigureAwait(false);
            if (reserved is not null)
            {
                return reserved;
            }

            upload = await answers.ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<UploadRecord> MarkStagedAsync(UploadRecord upload, StagedChunk entry, CancellationToken cancellationToken)
    {
        while (true)
        {
            var state = ChunkUploadState.Read(upload);
            var index = state?.Staged.ToList().FindIndex(s => s.Chunk == entry.Chunk && s.Range.FirstSequence == entry.Range.FirstSequence) ?? -1;
            if (state is null || index < 0 || upload.State != UploadState.Open || state.IsStored(upload, entry.Chunk))
            {
                // Another copy made it first (or the upload moved on): these slots are not needed.
                await DropStagedAsync(upload, entry).ConfigureAwait(false);
                return await answers.ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
            }

            List<StagedChunk> staged = [.. state.Staged];
            staged[index] = entry with { Ready = true };
            var written = await assembler.TryReplaceProtocolStateAsync(upload, (state with { Staged = staged }).WriteTo(upload.ProtocolState), cancellationToken)
                .ConfigureAwait(false);
            if (written is not null)
            {
                return written;
            }

            upload = await answers.ReloadAsync(upload, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes a staged chunk's bytes and its entry (best effort: cancel and expiry drop leftovers).</summary>
    private async Task DropStagedAsync(UploadRecord upload, StagedChunk entry)
    {
        using var salvage = new CancellationTokenSource(ChunkAnswers.SalvageTimeout);
        try
        {
            for (var current = upload; current.State == UploadState.Open;)
            {
                if (ChunkUploadState.Read(current) is not { } state
                    || state.Staged.All(s => s.Range.FirstSequence != entry.Range.FirstSequence))
                {
                    break;
                }

                var remaining = state with { Staged = [.. state.Staged.Where(s => s.Range.FirstSequence != entry.Range.FirstSequence)] };
                if (await assembler.TryReplaceProtocolStateAsync(current, remaining.WriteTo(current.ProtocolState), salvage.Token).ConfigureAwait(false) is not null)
                {
                    break;
                }

                current = await answers.ReloadAsync(current, salvage.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ChunkLog.CleanupFailed(logger, upload.Id, ex);
        }

        await assembler.DeleteStagedAsync(upload, entry.Range, salvage.Token).ConfigureAwait(false);
    }

    private async Task DropAllStagedAsync(UploadRecord completed)
    {
        foreach (var entry in ChunkUploadState.Read(completed)?.Staged ?? [])
        {
            await DropStagedAsync(completed, entry).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Asks for the staged chunks to be replayed. If another request of this process is appending, it is told to look
    /// again when it is done (<see cref="ChunkGate.PendingDrain"/>) and this request does not wait, unless <paramref name="wait"/>:
    /// then it also waits out another instance's lease (released, or lapsed because that instance died), so an upload
    /// whose chunks are all stored never stays incomplete.
    /// </summary>
    private async Task RequestDrainAsync(string uploadId, ChunkLayout layout, ChunkGate gate, bool wait, CancellationToken cancellationToken)
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
                await DrainAsync(uploadId, layout, takeOver: wait).ConfigureAwait(false);
            }
            finally
            {
                gate.Appending.Release();
            }
        }
    }

    /// <summary>
    /// Replays staged chunks at the upload's offset, in order, until the next chunk is missing. Runs under
    /// <see cref="ChunkGate.Appending"/>; leaves the upload to another instance holding the lease (that one drains after
    /// its own append). Not bound to the request: staged bytes are durable, replay is cheap to finish.
    /// </summary>
    private async Task DrainAsync(string uploadId, ChunkLayout layout, bool takeOver)
    {
        using var salvage = new CancellationTokenSource(ChunkAnswers.SalvageTimeout);
        var token = salvage.Token;
        try
        {
            while (await answers.GetAsync(uploadId, token).ConfigureAwait(false) is { State: UploadState.Open } upload)
            {
                if (assembler.IsLeasedByOtherInstance(upload))
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

                var staged = ChunkUploadState.Read(upload)?.Staged ?? [];
                if (staged.FirstOrDefault(s => s.Ready && layout.End(s.Chunk) <= upload.Offset) is { } obsolete)
                {
                    await DropStagedAsync(upload, obsolete).ConfigureAwait(false);
                    continue;
                }

                var next = staged.FirstOrDefault(s => s.Ready && layout.Start(s.Chunk) <= upload.Offset && upload.Offset < layout.End(s.Chunk));
                if (next is null)
                {
                    if (upload.Offset == layout.TotalSize)
                    {
                        // Every byte is in but the commit did not happen (e.g. it was refused before): try it again.
                        await assembler.AppendAsync(
                            new AppendRequest { Target = upload.Target, Id = uploadId, Owner = upload.Owner, Offset = upload.Offset, Complete = true, ContentLength = 0 },
                            Stream.Null,
                            yieldToOtherInstance: false,
                            token).ConfigureAwait(false);
                    }

                    return;
                }

                var skip = upload.Offset - layout.Start(next.Chunk);
                var result = await assembler.AppendStagedAsync(upload, next.Range, skip, complete: layout.End(next.Chunk) == layout.TotalSize, token).ConfigureAwait(false);
                if (result.Outcome is UploadOutcome.OffsetMismatch or UploadOutcome.Conflict)
                {
                    // Another instance appended meanwhile (look again from its offset), or started appending first (the
                    // loop above waits for it or leaves it the work).
                    continue;
                }

                if (result.Outcome != UploadOutcome.Success)
                {
                    ChunkLog.ChunkReplayStopped(logger, uploadId, next.Chunk, result.Outcome);
                    return;
                }

                if (result.Upload?.State == UploadState.Completed)
                {
                    await DropAllStagedAsync(result.Upload).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The staged chunks stay recorded; the next chunk request of this upload replays them again.
            ChunkLog.ChunkReplayFailed(logger, uploadId, ex);
        }
    }
}
