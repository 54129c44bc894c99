using Google;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.Gcs;

/// <summary>
/// Every public call goes through <see cref="Classify{T}"/>: GCS errors (from the client library and from the session
/// requests sent over HTTP here) become <see cref="StorageBackendException"/> saying whether they are transient.
/// </summary>
public sealed partial class GcsBackend
{
    /// <summary>GCS error reasons that mean "slow down" even when the status is 403.</summary>
    private static readonly HashSet<string> TransientReasons = new(StringComparer.Ordinal)
    {
        "rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError",
    };

    public Task<string?> StartAsync(BackendUpload upload, CancellationToken cancellationToken) =>
        Classify(StartCoreAsync(upload, cancellationToken), cancellationToken);

    public Task WriteAsync(BackendUpload upload, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        Classify(WriteCoreAsync(upload, offset, content, cancellationToken), cancellationToken);

    public Task<StoredObject> CompleteAsync(BackendUpload upload, CancellationToken cancellationToken) =>
        Classify(CompleteCoreAsync(upload, cancellationToken), cancellationToken);

    public Task AbortAsync(BackendUpload upload, CancellationToken cancellationToken) =>
        Classify(AbortCoreAsync(upload, cancellationToken), cancellationToken);

    public Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken) =>
        Classify(OpenReadCoreAsync(objectKey, offset, length, cancellationToken), cancellationToken);

    public Task DeleteObjectAsync(string objectKey, CancellationToken cancellationToken) =>
        Classify(DeleteObjectCoreAsync(objectKey, cancellationToken), cancellationToken);

    public Task<SessionCheck> CheckSessionAsync(BackendUpload upload, CancellationToken cancellationToken) =>
        Classify(CheckSessionCoreAsync(upload, cancellationToken), cancellationToken);

    private ITailStore? tails;

    /// <summary>The backend's staging objects for tails, classified like every other call.</summary>
    private sealed class StagingTails(GcsBackend backend) : ITailStore
    {
        public Task WriteAsync(string uploadId, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
            backend.Classify(backend.WriteTailCoreAsync(uploadId, sequence, content, cancellationToken), cancellationToken);

        public Task ReadAsync(string uploadId, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken) =>
            backend.Classify(backend.ReadTailCoreAsync(uploadId, tail, destination, cancellationToken), cancellationToken);

        public Task DeleteAsync(string uploadId, int sequence, CancellationToken cancellationToken) =>
            backend.Classify(backend.DeleteTailCoreAsync(uploadId, sequence, cancellationToken), cancellationToken);

        // Abort and completion remove the backend's tails with the upload.
        public Task DeleteAllAsync(string uploadId, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// The storage exception for a GCS failure, or null for exceptions that keep their type: the engine's own outcomes
    /// (missing objects, gone sessions, existing objects, cancellation) and bugs.
    /// </summary>
    internal static StorageBackendException? Classify(Exception exception, string bucket, CancellationToken cancellationToken) =>
        StorageFailures.Classify(exception, $"GCS bucket {bucket}", cancellationToken, static (failure, backend) => failure switch
        {
            GoogleApiException api => new StorageBackendException(
                backend,
                StorageBackendException.IsTransientStatus((int)api.HttpStatusCode)
                    || api.Error?.Errors?.Any(e => e.Reason is { } reason && TransientReasons.Contains(reason)) == true,
                api.HttpStatusCode == 0 ? null : (int)api.HttpStatusCode,
                api.Error?.Errors?.FirstOrDefault()?.Reason,
                api),
            // The session requests: an answer with a status (see FailureAsync), or none at all (the connection failed).
            HttpRequestException { StatusCode: { } status } http => new StorageBackendException(
                backend, StorageBackendException.IsTransientStatus((int)status), (int)status, null, http),
            _ => null,
        });

    private Task<T> Classify<T>(Task<T> call, CancellationToken cancellationToken) =>
        StorageFailures.Guard(call, options.Bucket, cancellationToken, Classify);

    private Task Classify(Task call, CancellationToken cancellationToken) =>
        StorageFailures.Guard(call, options.Bucket, cancellationToken, Classify);
}
