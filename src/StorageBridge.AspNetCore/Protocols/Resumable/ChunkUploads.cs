using System.Globalization;
using Microsoft.Extensions.Logging;
using StorageBridge.Coordination;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>
/// Numbered chunks of fixed size (Resumable.js / Flow.js) that arrive out of order, in parallel and twice, built on the
/// engine's <see cref="UploadAssembler"/>. Below <see cref="ResumableUploadHandler"/>: it takes parsed
/// <see cref="ChunkRequest"/>s and a body, and speaks no HTTP.
/// <list type="bullet">
/// <item><b>Identity</b>: <see cref="ChunkLookups"/> maps (target, principal, identifier, ...) to an upload.</item>
/// <item><b>Direct parts</b> (S3, Azure, when the chunk size is a valid part): chunk k is written straight to part k
/// (a last chunk longer than the chunk size as parts n and n + 1), recorded by compare-and-swap, committed when all
/// are there. No chunk waits for another.</item>
/// <item><b>Ordered</b> (everything else, <see cref="OrderedChunkWriter"/>): the chunk at the upload's offset is
/// appended; a chunk ahead of it is staged durably and replayed once the chunks before it are in.</item>
/// </list>
/// What is stored where is typed state in the record (<see cref="ChunkUploadState"/>), with the SHA-256 of every stored
/// chunk: a copy of a chunk number with other bytes is refused (<see cref="ChunkDigests"/>).
/// </summary>
internal sealed class ChunkUploads
{
    private readonly UploadTargetRegistry _targets;
    private readonly UploadAssembler _assembler;
    private readonly IUploadMetadataStore _store;
    private readonly ChunkLookups _lookups;
    private readonly ChunkAnswers _answers;
    private readonly ChunkGates _gates = new();
    private readonly OrderedChunkWriter _ordered;
    private readonly ChunkDigests _digests;

    public ChunkUploads(UploadCoordinator coordinator, IUploadMetadataStore store, ILogger<ChunkUploads> logger)
    {
        ArgumentNullException.ThrowIfNull(coordinator);
        _targets = coordinator.Targets;
        _assembler = coordinator.Assembler;
        _store = store;
        _lookups = new ChunkLookups(_assembler, store, logger);
        _answers = new ChunkAnswers(_assembler, store);
        _ordered = new OrderedChunkWriter(_assembler, _answers, logger);
        _digests = new ChunkDigests(_assembler, store, _answers, logger);
    }

    /// <summary>Whether chunk <see cref="ChunkRequest.ChunkNumber"/> is stored (a chunk test). Never creates anything.</summary>
    public async Task<ChunkResult> TestChunkAsync(ChunkRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (target, layout, refused) = CheckRequest(request);
        if (refused is not null)
        {
            return refused;
        }

        var upload = await _lookups.ResolveAsync(target!, request, layout, create: false, cancellationToken).ConfigureAwait(false);
        if (upload is null)
        {
            return new ChunkResult(UploadOutcome.Success, null);
        }

        if (LayoutMismatch(upload, layout) is { } mismatch)
        {
            return mismatch;
        }

        return new ChunkResult(UploadOutcome.Success, upload, ChunkStored: ChunkAnswers.IsStored(upload, (int)request.ChunkNumber));
    }

    /// <summary>
    /// Stores one chunk (idempotent: a chunk already stored is read and dropped) and commits the object once every
    /// chunk is there. The body must hold exactly the chunk's bytes.
    /// </summary>
    public async Task<ChunkResult> WriteChunkAsync(ChunkRequest request, Stream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(body);
        var (target, layout, refused) = CheckRequest(request);
        if (refused is not null)
        {
            return refused;
        }

        UploadRecord? upload;
        try
        {
            upload = await _lookups.ResolveAsync(target!, request, layout, create: true, cancellationToken).ConfigureAwait(false);
        }
        catch (Hooks.CreationRejectedException rejected)
        {
            return new ChunkResult(UploadOutcome.Rejected, null, rejected.Message, Rejection: rejected.Rejection);
        }

        if (upload is null)
        {
            return new ChunkResult(UploadOutcome.TargetNotFound, null);
        }

        if (LayoutMismatch(upload, layout) is { } mismatch)
        {
            return mismatch;
        }

        var number = (int)request.ChunkNumber;
        var gate = _gates.Enter(upload.Id);
        var flight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            // One request per chunk number at a time in this process: a duplicate waits for the first copy.
            while (gate.TryClaim(number, flight.Task) is { } earlier)
            {
                await ChunkGate.WaitQuietlyAsync(earlier, cancellationToken).ConfigureAwait(false);
            }

            upload = await _store.GetAsync(upload.Id, cancellationToken).ConfigureAwait(false) ?? upload;
            using var exact = new ExactLengthStream(body, layout.SizeOf(number));
            var result = ChunkUploadState.Of(upload).Direct
                ? await WriteDirectChunkAsync(upload, layout, number, exact, cancellationToken).ConfigureAwait(false)
                : await _ordered.WriteAsync(upload, layout, number, exact, gate, cancellationToken).ConfigureAwait(false);
            if (exact.Sha256 is { } sha256)
            {
                // Still under this chunk number's gate: the copy that stored it records its digest before another is checked.
                result = await _digests.CheckAsync(result, number, sha256).ConfigureAwait(false);
            }

            if (result.IsComplete)
            {
                using var salvage = new CancellationTokenSource(ChunkAnswers.SalvageTimeout);
                await _lookups.TouchAsync(result.Upload!, salvage.Token).ConfigureAwait(false);
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
            _gates.Leave(upload.Id, gate);
        }
    }

    private (UploadTarget? Target, ChunkLayout Layout, ChunkResult? Refused) CheckRequest(ChunkRequest request)
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

        if (request.TotalSize > UploadCoordinator.MaxLength(target, declared: true))
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
        ChunkUploadState.Read(upload)?.Layout == layout
            ? null
            : new ChunkResult(UploadOutcome.LengthMismatch, upload, "The chunk layout differs from the one this file's upload started with.");

    /// <summary>Writes the chunk straight to its part(s); the engine records them and commits when all are there.</summary>
    private async Task<ChunkResult> WriteDirectChunkAsync(UploadRecord upload, ChunkLayout layout, int number, Stream body, CancellationToken cancellationToken)
    {
        if (ChunkAnswers.IsStored(upload, number) || !upload.IsActive)
        {
            return await _answers.DuplicateAsync(upload, body, cancellationToken).ConfigureAwait(false);
        }

        var written = await _assembler.WritePartsAsync(upload, number, layout.Start(number), layout.SizeOf(number), layout.ChunkSize, body, cancellationToken)
            .ConfigureAwait(false);
        if (written.Recorded)
        {
            return new ChunkResult(written.Outcome, written.Upload);
        }

        // Another copy of this chunk was recorded first, or the upload moved on: the record decides the answer.
        await body.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        return await _answers.DuplicateOrGoneAsync(written.Upload!).ConfigureAwait(false);
    }
}
