using System.Globalization;
using Microsoft.Extensions.Logging;
using StorageBridge.Coordination;
using StorageBridge.Metadata;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>
/// A chunk number names fixed bytes of the file: the first copy stored keeps its SHA-256 in
/// <see cref="ChunkUploadState.Digests"/>, and a later copy with other bytes (a second client that guessed the
/// identifier, or a client that changed the file) is refused instead of answered "stored". Runs after a chunk was
/// handled, while the chunk's gate is held, so within one process the copy that stored a chunk records its digest
/// before any other copy of that number is looked at.
/// </summary>
internal sealed class ChunkDigests(UploadAssembler assembler, IUploadMetadataStore store, ChunkAnswers answers, ILogger logger)
{
    /// <summary>
    /// Records <paramref name="sha256"/> for chunk <paramref name="number"/> when the chunk is stored and has no digest
    /// yet; answers <paramref name="result"/>, or a refusal when the stored chunk's digest differs.
    /// </summary>
    public async Task<ChunkResult> CheckAsync(ChunkResult result, int number, string sha256)
    {
        if (result.Outcome != UploadOutcome.Success || result.Upload is not { } upload)
        {
            return result;
        }

        // The chunk's bytes are in: recording what they were finishes even when the client is gone.
        using var salvage = new CancellationTokenSource(ChunkAnswers.SalvageTimeout);
        while (await store.GetAsync(upload.Id, salvage.Token).ConfigureAwait(false) is { } current
            && ChunkUploadState.Read(current) is { } state)
        {
            if (state.Digests.TryGetValue(number, out var stored))
            {
                if (string.Equals(stored, sha256, StringComparison.Ordinal))
                {
                    return result;
                }

                ChunkLog.ChunkDiffers(logger, current.Id, number, sha256, stored);
                return new ChunkResult(UploadOutcome.DigestMismatch, current, string.Create(CultureInfo.InvariantCulture,
                    $"Chunk {number} differs from the chunk already stored under that number; nothing of it was kept."));
            }

            // A completion in progress is left alone: its own compare-and-swap writes must not be disturbed.
            if (!state.IsStored(current, number) || current.State == UploadState.Completing)
            {
                return result;
            }

            var written = await assembler.TryReplaceProtocolStateAsync(current, state.WithDigest(number, sha256).WriteTo(current.ProtocolState), salvage.Token)
                .ConfigureAwait(false);
            if (written is not null)
            {
                // A direct-parts commit that lost its compare-and-swap to this write is done here instead.
                return written.State == UploadState.Open ? await answers.EnsureCompletedAsync(written).ConfigureAwait(false) : result;
            }
        }

        return result;
    }
}
