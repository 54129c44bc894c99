namespace StorageBridge.Backends;

/// <summary>
/// What every backend's failure classification shares, so a backend states only its provider's own rules: the
/// engine's outcomes keep their types, a timeout nobody asked for is transient, and a network failure the provider
/// rules did not claim is transient too.
/// </summary>
public static class StorageFailures
{
    /// <summary>
    /// The <see cref="StorageBackendException"/> for <paramref name="exception"/>, or null when it keeps its type (the
    /// engine's own outcomes, cancellation the caller asked for, bugs). <paramref name="provider"/> classifies the
    /// provider's own exceptions (gets the exception and <paramref name="backend"/>; null: not one of them).
    /// </summary>
    public static StorageBackendException? Classify(
        Exception exception, string backend, CancellationToken cancellationToken, Func<Exception, string, StorageBackendException?> provider)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(provider);
        return exception switch
        {
            StorageBackendException or ObjectExistsException or UploadSessionGoneException or FileNotFoundException => null,
            // An SDK's or HttpClient's own timeout surfaces as a cancellation nobody asked for.
            OperationCanceledException when !cancellationToken.IsCancellationRequested =>
                new StorageBackendException(backend, isTransient: true, null, "Timeout", exception),
            OperationCanceledException => null,
            _ => provider(exception, backend)
                ?? (StorageBackendException.IsNetworkFailure(exception) ? new StorageBackendException(backend, isTransient: true, null, null, exception) : null),
        };
    }

    /// <summary>Awaits <paramref name="call"/> and throws what <paramref name="classify"/> makes of its failure, if anything.</summary>
    public static async Task<T> Guard<T>(
        Task<T> call, string resource, CancellationToken cancellationToken, Func<Exception, string, CancellationToken, StorageBackendException?> classify)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(classify);
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (Exception ex) when (classify(ex, resource, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Awaits <paramref name="call"/> and throws what <paramref name="classify"/> makes of its failure, if anything.</summary>
    public static async Task Guard(
        Task call, string resource, CancellationToken cancellationToken, Func<Exception, string, CancellationToken, StorageBackendException?> classify)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(classify);
        try
        {
            await call.ConfigureAwait(false);
        }
        catch (Exception ex) when (classify(ex, resource, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }
}
