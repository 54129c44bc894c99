using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// Numbered chunks of fixed size (Resumable.js / Flow.js) that arrive out of order, in parallel and twice.
/// <list type="bullet">
/// <item><b>Identity.</b> The client's identifier is not secret and can collide, so it never becomes the upload id: a
/// lookup (an index entry of the metadata store, <see cref="UploadLookup"/>), key "rjs-" + SHA-256(target, principal,
/// identifier, total size, chunk size, file name), names the upload (a fresh 128-bit id). Racing first chunks agree
/// through the store's add-if-absent on the lookup.</item>
/// <item><b>Direct parts</b> (S3, Azure, when the chunk size is a valid part): chunk k is written straight to part k
/// (a last chunk longer than the chunk size as parts n and n + 1), recorded by compare-and-swap, committed when all
/// are there. No chunk waits for another.</item>
/// <item><b>Ordered</b> (everything else): the chunk at the upload's offset streams through the normal append path;
/// a chunk ahead of it is staged durably in tail slots (pieces of the target's part size) and replayed through the
/// append path once the chunks before it are in.</item>
/// </list>
/// </summary>
public sealed partial class UploadCoordinator
{
    public const string ChunkProtocol = "resumable";

    // UploadRecord.ProtocolState keys of an upload made of chunks.
    private const string LayoutKey = "resumable.layout";
    private const string ModeKey = "resumable.mode";
    private const string LookupKey = "resumable.lookup";
    private const string StagedKey = "resumable.staged";
    private const string DirectMode = "parts";
    private const string OrderedMode = "ordered";

    /// <summary>How long after completion the same file's chunks still map to the completed upload (late duplicates, test GETs).</summary>
    public static readonly TimeSpan CompletedChunkWindow = TimeSpan.FromHours(1);

    // A lookup naming an upload that does not exist yet: its creator is between the two writes, or died there.
    private static readonly TimeSpan LookupCreationGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LookupPollInterval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan LeasePollInterval = TimeSpan.FromMilliseconds(50);

    private readonly Dictionary<string, ChunkGate> _chunkGates = new(StringComparer.Ordinal);

    /// <summary>Whether chunk <see cref="ChunkRequest.ChunkNumber"/> is stored (a chunk test). Never creates anything.</summary>
    public async Task<ChunkResult> TestChunkAsync(ChunkRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (target, layout, refused) = CheckChunkRequest(request);
        if (refused is not null)
        {
            return refused;
        }

        var upload = await ResolveChunkUploadAsync(target!, request, layout, create: false, cancellationToken).ConfigureAwait(false);
        if (upload is null)
        {
            return new ChunkResult(UploadOutcome.Success, null);
        }

        if (LayoutMismatch(upload, layout) is { } mismatch)
        {
            return mismatch;
        }

        return new ChunkResult(UploadOutcome.Success, upload, ChunkStored: IsChunkStored(upload, layout, (int)request.ChunkNumber));
    }

    /// <summary>
    /// Stores one chunk (idempotent: a chunk already stored is read and dropped) and commits the object once every
    /// chunk is there. The body must hold exactly the chunk's bytes.
    /// </summary>
    public async Task<ChunkResult> WriteChunkAsync(ChunkRequest request, Stream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(body);
        var (target, layout, refused) = CheckChunkRequest(request);
        if (refused is not null)
        {
            return refused;
        }

        var upload = await ResolveChunkUploadAsync(target!, request, layout, create: true, cancellationToken).ConfigureAwait(false);
        if (upload is null)
        {
            return new ChunkResult(UploadOutcome.TargetNotFound, null);
        }

        if (LayoutMismatch(upload, layout) is { } mismatch)
        {
            return mismatch;
        }

        var number = (int)request.ChunkNumber;
        var gate = EnterGate(upload.Id);
        var flight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            // One request per chunk number at a time in this process: a duplicate waits for the first copy.
            while (gate.TryClaim(number, flight.Task) is { } earlier)
            {
                await WaitQuietlyAsync(earlier, cancellationToken).ConfigureAwait(false);
            }

            upload = await _store.GetAsync(upload.Id, cancellationToken).ConfigureAwait(false) ?? upload;
            var body2 = new ExactLengthStream(body, layout.SizeOf(number));
            var result = upload.ProtocolState.GetValueOrDefault(ModeKey) == DirectMode
                ? await WriteDirectChunkAsync(target!, upload, layout, number, body2, cancellationToken).ConfigureAwait(false)
                : await WriteOrderedChunkAsync(target!, upload, layout, number, body2, gate, cancellationToken).ConfigureAwait(false);
            if (result.IsComplete)
            {
                await TouchLookupAsync(result.Upload!).ConfigureAwait(false);
            }

            return result;
        }
        catch (InvalidDataException ex)
        {
            // A body of the wrong size: whatever was written for it is unrecorded (or, in ordered mode, at most the
            // whole parts before its end, which are the client's bytes for those positions).
            return new ChunkResult(UploadOutcome.LengthMismatch, upload, ex.Message);
        }
        finally
        {
            gate.Release(number, flight.Task);
            flight.TrySetResult();
            LeaveGate(upload.Id, gate);
        }
    }

    /// <summary>An upload made of chunks accepts appends only from the chunk path (and only that path may use one).</summary>
    internal static AppendResult? CheckChunkedAppend(UploadRecord record, bool fromChunks) =>
        record.ProtocolState.ContainsKey(LayoutKey) != fromChunks ? new AppendResult(UploadOutcome.Conflict, record) : null;

    private (UploadTarget? Target, ChunkLayout Layout, ChunkResult? Refused) CheckChunkRequest(ChunkRequest request)
    {
        var target = _targets.Find(request.Target);
        if (target is null)
        {
            return (null, default, new ChunkResult(UploadOutcome.TargetNotFound, null));
        }

        var (layout, error) = ChunkLayout.From(request.ChunkSize, request.TotalSize, request.TotalChunks);
        if (layout is not { } valid)
        {
            return (target, default, new ChunkResult(UploadOutcome.LengthMismatch, null, error));
        }

        if (valid.CheckChunk(request.ChunkNumber, request.CurrentChunkSize) is { } chunkError)
        {
            return (target, valid, new ChunkResult(UploadOutcome.LengthMismatch, null, chunkError));
        }

        var size = valid.SizeOf((int)request.ChunkNumber);
        if (request.ContentLength is long contentLength && contentLength != size)
        {
            return (target, valid, new ChunkResult(UploadOutcome.LengthMismatch, null,
                string.Create(CultureInfo.InvariantCulture, $"The body holds {contentLength} bytes; chunk {request.ChunkNumber} has {size}.")));
        }

        if (request.TotalSize > MaxLength(target, declared: true))
        {
            return (target, valid, new ChunkResult(UploadOutcome.TooLarge, null, "The file is larger than this target accepts."));
        }

        if (target.Limits.MaxAppendSize is long maxAppend && valid.MaxChunkSize > maxAppend)
        {
            return (target, valid, new ChunkResult(UploadOutcome.TooLarge, null,
                string.Create(CultureInfo.InvariantCulture, $"Chunks of up to {valid.MaxChunkSize} bytes exceed this target's {maxAppend}-byte request limit.")));
        }

        return (target, valid, null);
    }

    private static ChunkResult? LayoutMismatch(UploadRecord upload, ChunkLayout layout) =>
        ChunkLayout.Parse(upload.ProtocolState.GetValueOrDefault(LayoutKey)) == layout
            ? null
            : new ChunkResult(UploadOutcome.LengthMismatch, upload, "The chunk layout differs from the one this file's upload started with.");

    private static bool AllChunksStored(UploadRecord upload, ChunkLayout layout) =>
        Enumerable.Range(1, layout.ChunkCount).All(k => IsChunkStored(upload, layout, k));

    private static bool IsChunkStored(UploadRecord upload, ChunkLayout layout, int number)
    {
        if (upload.State == UploadState.Completed)
        {
            return true;
        }

        if (upload.ProtocolState.GetValueOrDefault(ModeKey) == DirectMode)
        {
            return upload.Parts.Any(p => p.Number == number);
        }

        // A zero-byte chunk (the only chunk of an empty file) is stored when the upload completes.
        return (layout.SizeOf(number) > 0 && layout.End(number) <= upload.Offset)
            || StagedChunk.Parse(upload).Any(s => s.Chunk == number && s.Ready);
    }

    // ---- identity: lookup -> upload ----

    private static string LookupId(string target, ChunkRequest request)
    {
        // Length-prefixed fields: no choice of identifier or file name can make two different tuples hash alike.
        var material = new StringBuilder();
        foreach (var field in new[]
                 {
                     target, request.Principal, request.Identifier,
                     request.TotalSize.ToString(CultureInfo.InvariantCulture), request.ChunkSize.ToString(CultureInfo.InvariantCulture),
                     request.FileName ?? "",
                 })
        {
            material.Append(field.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(field).Append('\n');
        }

        return "rjs-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material.ToString())));
    }

    /// <summary>
    /// The upload the request's file maps to. With <paramref name="create"/>, one is created when there is none, or
    /// when the mapped one is gone or completed longer than <see cref="CompletedChunkWindow"/> ago.
    /// </summary>
    private async Task<UploadRecord?> ResolveChunkUploadAsync(
        UploadTarget target, ChunkRequest request, ChunkLayout layout, bool create, CancellationToken cancellationToken)
    {
        var lookupId = LookupId(target.Name, request);
        for (var attempt = 0; attempt < 10_000; attempt++)
        {
            var lookup = await _store.GetLookupAsync(lookupId, cancellationToken).ConfigureAwait(false);
            if (lookup is null)
            {
                if (!create)
                {
                    return null;
                }

                var id = UploadIds.New();
                var written = await _store.TryAddLookupAsync(NewLookup(lookupId, target, id), cancellationToken).ConfigureAwait(false);
                if (written.Status == MetadataWriteStatus.Success)
                {
                    return await CreateChunkUploadAsync(target, request, layout, id, lookupId, cancellationToken).ConfigureAwait(false);
                }

                continue; // another request created it first: use theirs
            }

            var upload = UploadIds.IsWellFormed(lookup.UploadId)
                ? await LoadAsync(target.Name, lookup.UploadId, cancellationToken).ConfigureAwait(false)
                : null;
            if (upload is not null && IsCurrentChunkUpload(upload))
            {
                return upload;
            }

            if (!create)
            {
                return null;
            }

            if (upload is null && Now - lookup.UpdatedAt < LookupCreationGrace)
            {
                // Real time, not the injected clock: this waits for another request's two writes, not for a deadline.
                await Task.Delay(LookupPollInterval, cancellationToken).ConfigureAwait(false);
                continue;
            }

            // Gone, long completed, or its creator died before creating it: the same file starts a new upload.
            var fresh = UploadIds.New();
            var replaced = await _store.TryReplaceLookupAsync(NewLookup(lookupId, target, fresh) with { Version = lookup.Version, CreatedAt = lookup.CreatedAt }, cancellationToken)
                .ConfigureAwait(false);
            if (replaced.Status == MetadataWriteStatus.Success)
            {
                return await CreateChunkUploadAsync(target, request, layout, fresh, lookupId, cancellationToken).ConfigureAwait(false);
            }
        }

        throw new InvalidOperationException($"Could not resolve the upload of lookup {lookupId}: the metadata store keeps conflicting.");
    }

    private bool IsCurrentChunkUpload(UploadRecord upload) => upload.State switch
    {
        UploadState.Open or UploadState.Completing => StateOutcome(upload) is null,
        UploadState.Completed => Now - upload.UpdatedAt < CompletedChunkWindow,
        _ => false,
    };

    private UploadLookup NewLookup(string lookupId, UploadTarget target, string uploadId)
    {
        var now = Now;
        return new UploadLookup
        {
            Key = lookupId,
            UploadId = uploadId,
            CreatedAt = now,
            UpdatedAt = now,
            ExpiresAt = now + target.Expiration + CompletedChunkWindow,
        };
    }

    private async Task<UploadRecord> CreateChunkUploadAsync(
        UploadTarget target, ChunkRequest request, ChunkLayout layout, string id, string lookupId, CancellationToken cancellationToken)
    {
        var direct = layout.FitsDirectParts(target.Backend.Capabilities, target.PartSize);
        var created = await CreateWithIdAsync(
            new CreateUploadRequest
            {
                Target = target.Name,
                Protocol = ChunkProtocol,
                Length = layout.TotalSize,
                ContentType = request.ContentType,
                FileName = request.FileName,
                ProtocolState = new Dictionary<string, string>
                {
                    [LayoutKey] = layout.ToString(),
                    [ModeKey] = direct ? DirectMode : OrderedMode,
                    [LookupKey] = lookupId,
                },
            },
            id,
            cancellationToken).ConfigureAwait(false);
        return created.Upload ?? throw new InvalidOperationException($"Creating chunk upload {id} failed: {created.Outcome}.");
    }

    /// <summary>Forgets lookups past their expiry (part of <see cref="CleanupExpiredAsync"/>); returns how many.</summary>
    private async Task<int> SweepExpiredLookupsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _store.DeleteExpiredLookupsAsync(Now, 100, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Nothing depends on it: an expired lookup whose upload is gone is replaced by the next first chunk anyway.
            Log.CleanupFailed(_logger, "expired lookups", ex);
            return 0;
        }
    }

    /// <summary>A completed upload's lookup stays for <see cref="CompletedChunkWindow"/> after completion, then the expiry sweep forgets it.</summary>
    private async Task TouchLookupAsync(UploadRecord upload)
    {
        if (upload.ProtocolState.GetValueOrDefault(LookupKey) is not { } lookupId)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(SalvageTimeout);
            var lookup = await _store.GetLookupAsync(lookupId, timeout.Token).ConfigureAwait(false);
            // Once: later duplicates find the lookup already shortened.
            if (lookup?.UploadId == upload.Id && !(lookup.ExpiresAt <= Now + CompletedChunkWindow))
            {
                await _store.TryReplaceLookupAsync(lookup with { ExpiresAt = Now + CompletedChunkWindow, UpdatedAt = Now }, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Only the lookup's lifetime is at stake: it still expires with the upload's original expiry.
            Log.CleanupFailed(_logger, lookupId, ex);
        }
    }

    // ---- direct parts ----

    private async Task<ChunkResult> WriteDirectChunkAsync(
        UploadTarget target, UploadRecord upload, ChunkLayout layout, int number, Stream body, CancellationToken cancellationToken)
    {
        if (IsChunkStored(upload, layout, number) || !upload.IsActive)
        {
            return await DuplicateAsync(upload, layout, body, cancellationToken).ConfigureAwait(false);
        }

        var size = layout.SizeOf(number);
        var first = Math.Min(size, layout.ChunkSize);
        long[] partSizes = size > first ? [first, size - first] : [size];
        var buffer = PartBuffers.Rent((int)first);
        var parts = new List<PartRecord>(partSizes.Length);
        try
        {
            using var salvage = new CancellationTokenSource(SalvageTimeout);
            var offset = layout.Start(number);
            for (var i = 0; i < partSizes.Length; i++)
            {
                var content = buffer.AsMemory(0, (int)partSizes[i]);
                await ReadFullyAsync(body, content, cancellationToken).ConfigureAwait(false);
                parts.Add(await target.Backend.WritePartAsync(upload, number + i, offset, content, salvage.Token).ConfigureAwait(false));
                offset += partSizes[i];
            }

            return await RecordDirectPartsAsync(upload, layout, number, parts, salvage.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (InvalidDataException or OperationCanceledException))
        {
            // Another instance stored this chunk and completed (or cancelled) the upload while this copy was being
            // written, so the native upload is gone: this copy is a duplicate, not a failure.
            var superseded = await SupersededAsync(upload, layout, number).ConfigureAwait(false);
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
    }

    /// <summary>After a failed backend write: the upload's answer when another copy of the chunk made the write moot, else null.</summary>
    private async Task<ChunkResult?> SupersededAsync(UploadRecord upload, ChunkLayout layout, int number)
    {
        using var salvage = new CancellationTokenSource(SalvageTimeout);
        var current = await _store.GetAsync(upload.Id, salvage.Token).ConfigureAwait(false);
        if (current is null || (current.State == UploadState.Open && !IsChunkStored(current, layout, number)))
        {
            return null;
        }

        return await DuplicateOrGoneAsync(current, layout).ConfigureAwait(false);
    }

    private static async Task ReadFullyAsync(Stream body, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var done = 0;
        while (done < destination.Length)
        {
            var read = await body.ReadAsync(destination[done..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new InvalidDataException($"The chunk body ended after {done} of {destination.Length} bytes.");
            }

            done += read;
        }
    }

    private async Task<ChunkResult> RecordDirectPartsAsync(UploadRecord upload, ChunkLayout layout, int number, List<PartRecord> parts, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (upload.State != UploadState.Open)
            {
                return await DuplicateOrGoneAsync(upload, layout).ConfigureAwait(false);
            }

            if (upload.Parts.Any(p => p.Number == number))
            {
                // Another copy of this chunk was recorded first; the bytes are the same chunk, the record decides.
                return await EnsureChunksCompletedAsync(upload, layout).ConfigureAwait(false);
            }

            List<PartRecord> all = [.. upload.Parts.Concat(parts).OrderBy(p => p.Number)];
            var complete = all.Count == layout.DirectPartCount;
            var updated = upload with
            {
                Parts = all,
                Offset = all.Sum(p => p.Size),
                State = complete ? UploadState.Completing : UploadState.Open,
                LeaseOwner = complete ? _options.InstanceId : upload.LeaseOwner,
                LeaseUntil = complete ? Now + _options.LeaseDuration : upload.LeaseUntil,
                UpdatedAt = Now,
            };
            var written = await _store.TryReplaceAsync(updated, cancellationToken).ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                StorageBridgeTelemetry.BytesAppended.Add(parts.Sum(p => p.Size), new KeyValuePair<string, object?>("target", upload.Target));
                return complete
                    ? await CompleteChunksAsync(written.Record!).ConfigureAwait(false)
                    : new ChunkResult(UploadOutcome.Success, written.Record);
            }

            upload = await _store.GetAsync(upload.Id, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Upload {upload.Id} disappeared while a chunk was recorded.");
        }
    }

    /// <summary>Commits an upload whose record says Completing (idempotent; also finishes one a crash interrupted).</summary>
    private async Task<ChunkResult> CompleteChunksAsync(UploadRecord completing)
    {
        using var salvage = new CancellationTokenSource(SalvageTimeout);
        var done = await FinishCompletionAsync(completing, salvage.Token).ConfigureAwait(false)
            ?? await _store.GetAsync(completing.Id, salvage.Token).ConfigureAwait(false);
        if (done?.State == UploadState.Completed)
        {
            StorageBridgeTelemetry.UploadsCompleted.Add(1, new KeyValuePair<string, object?>("target", done.Target));
            Log.UploadCompleted(_logger, done.Id, done.Offset, done.ObjectKey);
            return new ChunkResult(UploadOutcome.Success, done);
        }

        // FinishCompletionAsync reopens the upload when another object holds the key and overwriting is off.
        return new ChunkResult(done?.State == UploadState.Open ? UploadOutcome.ObjectExists : UploadOutcome.Conflict, done);
    }

    // ---- shared ----

    /// <summary>A chunk that is already stored: its bytes are read and dropped, the answer is the upload as it stands.</summary>
    private async Task<ChunkResult> DuplicateAsync(UploadRecord upload, ChunkLayout layout, Stream body, CancellationToken cancellationToken)
    {
        await body.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        return await DuplicateOrGoneAsync(upload, layout).ConfigureAwait(false);
    }

    private async Task<ChunkResult> DuplicateOrGoneAsync(UploadRecord upload, ChunkLayout layout) => upload.State switch
    {
        UploadState.Cancelled or UploadState.Expired => new ChunkResult(UploadOutcome.Gone, upload, "The upload was cancelled or has expired."),
        _ => await EnsureChunksCompletedAsync(upload, layout).ConfigureAwait(false),
    };

    /// <summary>When every chunk is stored but the commit did not happen (interrupted, or refused once), commit now.</summary>
    private async Task<ChunkResult> EnsureChunksCompletedAsync(UploadRecord upload, ChunkLayout layout)
    {
        // A live lease on a Completing record is the request committing it (here or elsewhere): never commit twice at
        // once; only a completion whose committer went silent is finished here.
        if (upload.State == UploadState.Completing && !(upload.LeaseOwner is not null && upload.LeaseUntil > Now))
        {
            return await CompleteChunksAsync(upload).ConfigureAwait(false);
        }

        var direct = upload.ProtocolState.GetValueOrDefault(ModeKey) == DirectMode;
        if (upload.State == UploadState.Open && direct && upload.Parts.Count == layout.DirectPartCount)
        {
            using var salvage = new CancellationTokenSource(SalvageTimeout);
            var completing = upload with { State = UploadState.Completing, LeaseOwner = _options.InstanceId, LeaseUntil = Now + _options.LeaseDuration, UpdatedAt = Now };
            var written = await _store.TryReplaceAsync(completing, salvage.Token).ConfigureAwait(false);
            return written.Status == MetadataWriteStatus.Success
                ? await CompleteChunksAsync(written.Record!).ConfigureAwait(false)
                : new ChunkResult(UploadOutcome.Success, await _store.GetAsync(upload.Id, salvage.Token).ConfigureAwait(false));
        }

        return new ChunkResult(UploadOutcome.Success, upload);
    }

    private async Task<ChunkResult> ChunkStateAsync(string uploadId, ChunkLayout layout)
    {
        using var salvage = new CancellationTokenSource(SalvageTimeout);
        var upload = await _store.GetAsync(uploadId, salvage.Token).ConfigureAwait(false);
        return upload is null ? new ChunkResult(UploadOutcome.NotFound, null) : await DuplicateOrGoneAsync(upload, layout).ConfigureAwait(false);
    }

    private async Task<UploadRecord> ReloadAsync(UploadRecord upload, CancellationToken cancellationToken) =>
        await _store.GetAsync(upload.Id, cancellationToken).ConfigureAwait(false) ?? upload with { State = UploadState.Cancelled };

    private static async Task WaitQuietlyAsync(Task task, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Only its end matters here; the request that failed answers for itself.
        }
    }

    private ChunkGate EnterGate(string uploadId)
    {
        lock (_chunkGates)
        {
            if (!_chunkGates.TryGetValue(uploadId, out var gate))
            {
                gate = new ChunkGate();
                _chunkGates[uploadId] = gate;
            }

            gate.Users++;
            return gate;
        }
    }

    private void LeaveGate(string uploadId, ChunkGate gate)
    {
        lock (_chunkGates)
        {
            if (--gate.Users == 0)
            {
                _chunkGates.Remove(uploadId);
                gate.Appending.Dispose();
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.Engine.ChunkReplayStopped, LogLevel.Warning, "Upload {UploadId}: replaying staged chunk {Chunk} stopped ({Outcome}); the next chunk request retries")]
        public static partial void ChunkReplayStopped(ILogger logger, string uploadId, int chunk, UploadOutcome outcome);

        [LoggerMessage(Diagnostics.EventIds.Engine.ChunkReplayFailed, LogLevel.Warning, "Upload {UploadId}: replaying staged chunks failed; the next chunk request retries")]
        public static partial void ChunkReplayFailed(ILogger logger, string uploadId, Exception exception);
    }
}
