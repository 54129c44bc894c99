using StorageBridge.Coordination;
using StorageBridge.Metadata;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>
/// What both chunk paths answer about an upload as it stands: a duplicate chunk, a chunk another copy made moot, the
/// commit of an upload whose chunks are all in, the state after a chunk.
/// </summary>
internal sealed class ChunkAnswers(UploadAssembler assembler, IUploadMetadataStore store)
{
    /// <summary>Work on bytes that already arrived (and the commit after them) finishes even when the client is gone.</summary>
    public static readonly TimeSpan SalvageTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Whether chunk <paramref name="number"/> of <paramref name="upload"/> is stored, by the upload's own state.</summary>
    public static bool IsStored(UploadRecord upload, int number) => ChunkUploadState.Read(upload)?.IsStored(upload, number) ?? false;

    /// <summary>A chunk that is already stored: its bytes are read and dropped, the answer is the upload as it stands.</summary>
    public async Task<ChunkResult> DuplicateAsync(UploadRecord upload, Stream body, CancellationToken cancellationToken)
    {
        await body.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        return await DuplicateOrGoneAsync(upload).ConfigureAwait(false);
    }

    public async Task<ChunkResult> DuplicateOrGoneAsync(UploadRecord upload) => upload.State switch
    {
        UploadState.Cancelled or UploadState.Expired => new ChunkResult(UploadOutcome.Gone, upload, "The upload was cancelled or has expired."),
        _ => await EnsureCompletedAsync(upload).ConfigureAwait(false),
    };

    /// <summary>When every chunk is stored but the commit did not happen (interrupted, or refused once), commit now.</summary>
    public async Task<ChunkResult> EnsureCompletedAsync(UploadRecord upload)
    {
        var allDirectParts = upload.State == UploadState.Open
            && ChunkUploadState.Read(upload) is { Direct: true } state
            && upload.Parts.Count == state.Layout.DirectPartCount;
        if (upload.State != UploadState.Completing && !allDirectParts)
        {
            return new ChunkResult(UploadOutcome.Success, upload);
        }

        using var salvage = new CancellationTokenSource(SalvageTimeout);
        var done = await assembler.CompleteAsync(upload, salvage.Token).ConfigureAwait(false);
        return new ChunkResult(done.Outcome, done.Upload);
    }

    /// <summary>The answer after a chunk was handled: the upload as it stands now.</summary>
    public async Task<ChunkResult> StateAsync(string uploadId)
    {
        using var salvage = new CancellationTokenSource(SalvageTimeout);
        var upload = await store.GetAsync(uploadId, salvage.Token).ConfigureAwait(false);
        return upload is null ? new ChunkResult(UploadOutcome.NotFound, null) : await DuplicateOrGoneAsync(upload).ConfigureAwait(false);
    }

    /// <summary>After a failed backend write: the upload's answer when another copy of the chunk made the write moot, else null.</summary>
    public async Task<ChunkResult?> SupersededAsync(UploadRecord upload, int number)
    {
        using var salvage = new CancellationTokenSource(SalvageTimeout);
        var current = await store.GetAsync(upload.Id, salvage.Token).ConfigureAwait(false);
        if (current is null || (current.State == UploadState.Open && !IsStored(current, number)))
        {
            return null;
        }

        return await DuplicateOrGoneAsync(current).ConfigureAwait(false);
    }

    public Task<UploadRecord?> GetAsync(string uploadId, CancellationToken cancellationToken) => store.GetAsync(uploadId, cancellationToken);

    /// <summary>The upload as stored now; a vanished record reads as cancelled.</summary>
    public async Task<UploadRecord> ReloadAsync(UploadRecord upload, CancellationToken cancellationToken) =>
        await store.GetAsync(upload.Id, cancellationToken).ConfigureAwait(false) ?? upload with { State = UploadState.Cancelled };
}
