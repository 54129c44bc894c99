using Microsoft.Extensions.Logging;
using StorageBridge.Backends;

namespace StorageBridge.Diagnostics;

/// <summary>
/// Log events of the upload engine (category <c>UploadCoordinator</c>). The numbered-chunk path keeps its own
/// events (20 and 21 there too) beside its code.
/// </summary>
internal static partial class EngineLog
{
    [LoggerMessage(1, LogLevel.Information, "Upload {UploadId} created on target {Target} (length {Length})")]
    public static partial void UploadCreated(ILogger logger, string uploadId, string target, long? length);

    [LoggerMessage(2, LogLevel.Information, "Upload {UploadId} completed: {Length} bytes as {ObjectKey}")]
    public static partial void UploadCompleted(ILogger logger, string uploadId, long length, string objectKey);

    [LoggerMessage(3, LogLevel.Information, "Upload {UploadId} cancelled")]
    public static partial void UploadCancelled(ILogger logger, string uploadId);

    [LoggerMessage(4, LogLevel.Information, "Upload {UploadId} expired and was cleaned up")]
    public static partial void UploadExpired(ILogger logger, string uploadId);

    [LoggerMessage(5, LogLevel.Warning, "Cleanup of upload {UploadId} failed; it will be retried")]
    public static partial void CleanupFailed(ILogger logger, string uploadId, Exception exception);

    [LoggerMessage(6, LogLevel.Information, "Upload {UploadId}: waiting for the lease of {Owner} to lapse at {Until}")]
    public static partial void WaitingForLease(ILogger logger, string uploadId, string owner, DateTimeOffset until);

    [LoggerMessage(7, LogLevel.Information, "Upload {UploadId}: append ended early after {Received} bytes; the received bytes were kept")]
    public static partial void AppendInterrupted(ILogger logger, string uploadId, long received);

    [LoggerMessage(8, LogLevel.Warning, "Upload {UploadId}: lost the lease to another writer; this append stops")]
    public static partial void LeaseLost(ILogger logger, string uploadId);

    [LoggerMessage(9, LogLevel.Warning, "Upload {UploadId}: whole-upload digest mismatch; the upload was cancelled")]
    public static partial void ReprDigestMismatch(ILogger logger, string uploadId);

    [LoggerMessage(20, LogLevel.Information, "Upload {UploadId}: an earlier append did not finish; the backend session is {Check} at recorded offset {Offset}")]
    public static partial void SessionReconciled(ILogger logger, string uploadId, SessionCheck check, long offset);

    [LoggerMessage(21, LogLevel.Warning, "Upload {UploadId}: the backend session is gone (expired or cancelled outside the bridge); the upload expired")]
    public static partial void SessionGone(ILogger logger, string uploadId);
}
