using Azure;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.AzureBlob;

/// <summary>
/// Every public call goes through <see cref="Classify{T}"/>: Azure's errors become <see cref="StorageBackendException"/>
/// saying whether they are transient. Azure.Core has already retried what it retries; nothing is retried here.
/// </summary>
public sealed partial class AzureBlobBackend
{
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
    private sealed class StagingTails(AzureBlobBackend backend) : ITailStore
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
    /// The storage exception for an Azure failure, or null for exceptions that keep their type: the engine's own
    /// outcomes (missing objects, existing objects, cancellation) and bugs.
    /// </summary>
    internal static StorageBackendException? Classify(Exception exception, string container, CancellationToken cancellationToken) =>
        StorageFailures.Classify(exception, $"Azure Blob container {container}", cancellationToken, static (failure, backend) => failure switch
        {
            // Status 0: no answer at all (the connection failed).
            RequestFailedException failed => new StorageBackendException(
                backend,
                failed.Status == 0 || StorageBackendException.IsTransientStatus(failed.Status),
                failed.Status == 0 ? null : failed.Status,
                failed.ErrorCode,
                failed),
            // Azure.Core gives up on repeated connection failures with "Retry failed after N tries".
            AggregateException aggregate when aggregate.InnerExceptions.All(StorageBackendException.IsNetworkFailure) =>
                new StorageBackendException(backend, isTransient: true, null, null, aggregate),
            // Credential providers (Azure.Identity) fail the same way until the configuration changes.
            Azure.Identity.AuthenticationFailedException => new StorageBackendException(backend, isTransient: false, null, "AuthenticationFailed", failure),
            _ => null,
        });

    private Task<T> Classify<T>(Task<T> call, CancellationToken cancellationToken) =>
        StorageFailures.Guard(call, container.Name, cancellationToken, Classify);

    private Task Classify(Task call, CancellationToken cancellationToken) =>
        StorageFailures.Guard(call, container.Name, cancellationToken, Classify);
}
