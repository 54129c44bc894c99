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

    public Task<string?> StartAsync(UploadRecord upload, CancellationToken cancellationToken) =>
        Classify(StartCoreAsync(upload, cancellationToken), cancellationToken);

    public Task<PartRecord> WritePartAsync(UploadRecord upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        Classify(WritePartCoreAsync(upload, partNumber, offset, content, cancellationToken), cancellationToken);

    public Task WriteTailAsync(UploadRecord upload, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        Classify(WriteTailCoreAsync(upload, sequence, content, cancellationToken), cancellationToken);

    public Task ReadTailAsync(UploadRecord upload, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken) =>
        Classify(ReadTailCoreAsync(upload, tail, destination, cancellationToken), cancellationToken);

    public Task DeleteTailAsync(UploadRecord upload, int sequence, CancellationToken cancellationToken) =>
        Classify(DeleteTailCoreAsync(upload, sequence, cancellationToken), cancellationToken);

    public Task<StoredObject> CompleteAsync(UploadRecord upload, CancellationToken cancellationToken) =>
        Classify(CompleteCoreAsync(upload, cancellationToken), cancellationToken);

    public Task AbortAsync(UploadRecord upload, CancellationToken cancellationToken) =>
        Classify(AbortCoreAsync(upload, cancellationToken), cancellationToken);

    public Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken) =>
        Classify(OpenReadCoreAsync(objectKey, offset, length, cancellationToken), cancellationToken);

    public Task DeleteObjectAsync(string objectKey, CancellationToken cancellationToken) =>
        Classify(DeleteObjectCoreAsync(objectKey, cancellationToken), cancellationToken);

    public Task<SessionCheck> CheckSessionAsync(UploadRecord upload, CancellationToken cancellationToken) =>
        Classify(CheckSessionCoreAsync(upload, cancellationToken), cancellationToken);

    /// <summary>
    /// The storage exception for a GCS failure, or null for exceptions that keep their type: the engine's own outcomes
    /// (missing objects, gone sessions, existing objects, cancellation) and bugs.
    /// </summary>
    internal static StorageBackendException? Classify(Exception exception, string bucket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var backend = $"GCS bucket {bucket}";
        return exception switch
        {
            StorageBackendException or ObjectExistsException or UploadSessionGoneException or FileNotFoundException => null,
            // HttpClient's timeout surfaces as a cancellation nobody asked for.
            OperationCanceledException when !cancellationToken.IsCancellationRequested =>
                new StorageBackendException(backend, isTransient: true, null, "Timeout", exception),
            OperationCanceledException => null,
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
            _ when StorageBackendException.IsNetworkFailure(exception) => new StorageBackendException(backend, isTransient: true, null, null, exception),
            _ => null,
        };
    }

    private async Task<T> Classify<T>(Task<T> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (Exception ex) when (Classify(ex, options.Bucket, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    private async Task Classify(Task call, CancellationToken cancellationToken)
    {
        try
        {
            await call.ConfigureAwait(false);
        }
        catch (Exception ex) when (Classify(ex, options.Bucket, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }
}
