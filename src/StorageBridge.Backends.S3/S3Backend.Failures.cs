using Amazon.Runtime;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.S3;

/// <summary>
/// Every public call goes through <see cref="Classify{T}"/>: S3's errors become <see cref="StorageBackendException"/>
/// saying whether they are transient. The SDK has already retried what it retries; nothing is retried here.
/// </summary>
public sealed partial class S3Backend
{
    /// <summary>S3 error codes that mean "slow down or try later" whatever the status says.</summary>
    private static readonly HashSet<string> TransientCodes = new(StringComparer.Ordinal)
    {
        "SlowDown", "RequestTimeout", "ServiceUnavailable", "InternalError", "Throttling", "ThrottlingException",
        "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled", "RequestTimeoutException",
    };

    public Task<string?> StartAsync(BackendUpload upload, CancellationToken cancellationToken) =>
        Classify(StartCoreAsync(upload, cancellationToken), cancellationToken);

    public Task<PartRecord> WritePartAsync(BackendUpload upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        Classify(WritePartCoreAsync(upload, partNumber, offset, content, cancellationToken), cancellationToken);

    public Task<StoredObject> CompleteAsync(BackendUpload upload, CancellationToken cancellationToken) =>
        Classify(CompleteCoreAsync(upload, cancellationToken), cancellationToken);

    public Task AbortAsync(BackendUpload upload, CancellationToken cancellationToken) =>
        Classify(AbortCoreAsync(upload, cancellationToken), cancellationToken);

    public Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken) =>
        Classify(OpenReadCoreAsync(objectKey, offset, length, cancellationToken), cancellationToken);

    public Task DeleteObjectAsync(string objectKey, CancellationToken cancellationToken) =>
        Classify(DeleteObjectCoreAsync(objectKey, cancellationToken), cancellationToken);

    public Task<StoredObject> ConcatenateAsync(BackendUpload upload, IReadOnlyList<string> sourceKeys, CancellationToken cancellationToken) =>
        Classify(ConcatenateCoreAsync(upload, sourceKeys, cancellationToken), cancellationToken);

    private ITailStore? tails;

    /// <summary>The backend's staging objects for tails, classified like every other call.</summary>
    private sealed class StagingTails(S3Backend backend) : ITailStore
    {
        public Task WriteAsync(string uploadId, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
            backend.Classify(backend.WriteTailCoreAsync(uploadId, sequence, content, cancellationToken), cancellationToken);

        public Task ReadAsync(string uploadId, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken) =>
            backend.Classify(backend.ReadTailCoreAsync(uploadId, tail, destination, cancellationToken), cancellationToken);

        public Task DeleteAsync(string uploadId, int sequence, CancellationToken cancellationToken) =>
            backend.Classify(backend.DeleteTailCoreAsync(uploadId, sequence, cancellationToken), cancellationToken);

        // After completion: tail objects a crash left behind (written into a part, not yet deleted) are listed.
        public Task DeleteAllAsync(string uploadId, CancellationToken cancellationToken) =>
            backend.Classify(backend.DeleteAllTailsCoreAsync(uploadId, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// The storage exception for an S3 failure, or null for exceptions that keep their type: the engine's own outcomes
    /// (missing objects, existing objects, cancellation) and bugs.
    /// </summary>
    internal static StorageBackendException? Classify(Exception exception, string bucket, CancellationToken cancellationToken) =>
        StorageFailures.Classify(exception, $"S3 bucket {bucket}", cancellationToken, static (failure, backend) => failure switch
        {
            AmazonServiceException service => new StorageBackendException(
                backend,
                IsTransient(service),
                service.StatusCode == 0 ? null : (int)service.StatusCode,
                string.IsNullOrEmpty(service.ErrorCode) ? null : service.ErrorCode,
                service),
            // Not an answer from S3: a connection that failed, or something the SDK could not do (credentials, checksums).
            AmazonClientException client => new StorageBackendException(
                backend, client.InnerException is { } inner && StorageBackendException.IsNetworkFailure(inner), null, null, client),
            _ => null,
        });

    private static bool IsTransient(AmazonServiceException exception) =>
        TransientCodes.Contains(exception.ErrorCode ?? "")
        || StorageBackendException.IsTransientStatus((int)exception.StatusCode)
        || (exception.StatusCode == 0 && exception.InnerException is { } inner && StorageBackendException.IsNetworkFailure(inner));

    private Task<T> Classify<T>(Task<T> call, CancellationToken cancellationToken) =>
        StorageFailures.Guard(call, options.Bucket, cancellationToken, Classify);

    private Task Classify(Task call, CancellationToken cancellationToken) =>
        StorageFailures.Guard(call, options.Bucket, cancellationToken, Classify);
}
