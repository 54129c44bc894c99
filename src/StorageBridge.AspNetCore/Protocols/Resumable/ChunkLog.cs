using Microsoft.Extensions.Logging;
using StorageBridge.Coordination;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>Log events of the numbered-chunk path (category <see cref="ChunkUploads"/>); messages as when it lived in the engine.</summary>
internal static partial class ChunkLog
{
    /// <summary>The chunk path's own best-effort cleanups (the engine's cleanup message).</summary>
    [LoggerMessage(Diagnostics.EventIds.Resumable.ChunkCleanupFailed, LogLevel.Warning, "Cleanup of upload {UploadId} failed; it will be retried")]
    public static partial void CleanupFailed(ILogger logger, string uploadId, Exception exception);

    [LoggerMessage(Diagnostics.EventIds.Resumable.ChunkReplayStopped, LogLevel.Warning, "Upload {UploadId}: replaying staged chunk {Chunk} stopped ({Outcome}); the next chunk request retries")]
    public static partial void ChunkReplayStopped(ILogger logger, string uploadId, int chunk, UploadOutcome outcome);

    [LoggerMessage(Diagnostics.EventIds.Resumable.ChunkDiffers, LogLevel.Warning, "Upload {UploadId}: chunk {Chunk} differs from the stored chunk of that number (sha-256 {Received}, stored {Stored}); refused")]
    public static partial void ChunkDiffers(ILogger logger, string uploadId, int chunk, string received, string stored);

    [LoggerMessage(Diagnostics.EventIds.Resumable.ChunkReplayFailed, LogLevel.Warning, "Upload {UploadId}: replaying staged chunks failed; the next chunk request retries")]
    public static partial void ChunkReplayFailed(ILogger logger, string uploadId, Exception exception);
}
