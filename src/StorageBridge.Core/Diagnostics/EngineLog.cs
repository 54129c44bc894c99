using Microsoft.Extensions.Logging;
using StorageBridge.Backends;

namespace StorageBridge.Diagnostics;

/// <summary>
/// Log events of the upload engine (category <c>UploadCoordinator</c>); ids come from <see cref="EventIds.Engine"/>,
/// which the numbered-chunk path (its replay events) shares.
/// </summary>
internal static partial class EngineLog
{
    [LoggerMessage(EventIds.Engine.UploadCreated, LogLevel.Information, "Upload {UploadId} created on target {Target} (length {Length})")]
    public static partial void UploadCreated(ILogger logger, string uploadId, string target, long? length);

    [LoggerMessage(EventIds.Engine.UploadCompleted, LogLevel.Information, "Upload {UploadId} completed: {Length} bytes as {ObjectKey}")]
    public static partial void UploadCompleted(ILogger logger, string uploadId, long length, string objectKey);

    [LoggerMessage(EventIds.Engine.UploadCancelled, LogLevel.Information, "Upload {UploadId} cancelled")]
    public static partial void UploadCancelled(ILogger logger, string uploadId);

    [LoggerMessage(EventIds.Engine.UploadExpired, LogLevel.Information, "Upload {UploadId} expired and was cleaned up")]
    public static partial void UploadExpired(ILogger logger, string uploadId);

    [LoggerMessage(EventIds.Engine.CleanupFailed, LogLevel.Warning, "Cleanup of upload {UploadId} failed; it will be retried")]
    public static partial void CleanupFailed(ILogger logger, string uploadId, Exception exception);

    [LoggerMessage(EventIds.Engine.WaitingForLease, LogLevel.Information, "Upload {UploadId}: waiting for the lease of {Owner} to lapse at {Until}")]
    public static partial void WaitingForLease(ILogger logger, string uploadId, string owner, DateTimeOffset until);

    [LoggerMessage(EventIds.Engine.AppendInterrupted, LogLevel.Information, "Upload {UploadId}: append ended early after {Received} bytes; the received bytes were kept")]
    public static partial void AppendInterrupted(ILogger logger, string uploadId, long received);

    [LoggerMessage(EventIds.Engine.LeaseLost, LogLevel.Warning, "Upload {UploadId}: lost the lease to another writer; this append stops")]
    public static partial void LeaseLost(ILogger logger, string uploadId);

    [LoggerMessage(EventIds.Security.CompletionRefused, LogLevel.Warning, "Upload {UploadId}: the caller is no longer authorized to complete it; the bytes received are kept, the upload stays open")]
    public static partial void CompletionRefused(ILogger logger, string uploadId);

    [LoggerMessage(EventIds.Engine.ReprDigestMismatch, LogLevel.Warning, "Upload {UploadId}: whole-upload digest mismatch; the upload was cancelled")]
    public static partial void ReprDigestMismatch(ILogger logger, string uploadId);

    [LoggerMessage(EventIds.Engine.InvalidatedPastLength, LogLevel.Warning, "Upload {UploadId}: data past its length {Length}; the upload was invalidated and its bytes dropped")]
    public static partial void InvalidatedPastLength(ILogger logger, string uploadId, long? length);

    [LoggerMessage(EventIds.Engine.CompletedUploadCancelled, LogLevel.Information, "Completed upload {UploadId} cancelled; object {ObjectKey} deleted: {ObjectDeleted}")]
    public static partial void CompletedUploadCancelled(ILogger logger, string uploadId, string objectKey, bool objectDeleted);

    [LoggerMessage(EventIds.Engine.SessionReconciled, LogLevel.Information, "Upload {UploadId}: an earlier append did not finish; the backend session is {Check} at recorded offset {Offset}")]
    public static partial void SessionReconciled(ILogger logger, string uploadId, SessionCheck check, long offset);

    [LoggerMessage(EventIds.Engine.SessionGone, LogLevel.Warning, "Upload {UploadId}: the backend session is gone (expired or cancelled outside the bridge); the upload expired")]
    public static partial void SessionGone(ILogger logger, string uploadId);
}
