using System.Collections.Concurrent;

namespace StorageBridge.Coordination;

/// <summary>
/// Requests working on an upload within this process. A new request for the same upload cancels the one in
/// flight and waits for it to store what it received, so clients never see "locked" after a dropped connection.
/// </summary>
internal sealed class UploadActivityRegistry
{
    private readonly ConcurrentDictionary<string, ActiveOperation> _active = new(StringComparer.Ordinal);
    private volatile bool _stopping;

    /// <summary>
    /// Shutdown: ends every operation in flight (each stores what it received, as on a takeover) and every one that
    /// starts from now on, and waits until all have let go or <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task EndAllAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        var running = _active.Values.ToList();
        foreach (var operation in running)
        {
            await operation.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(running.Select(o => o.Released)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ends any operation in flight for <paramref name="uploadId"/>; waits at most <paramref name="wait"/> for it to let go.</summary>
    public async Task<bool> EndActiveAsync(string uploadId, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (!_active.TryGetValue(uploadId, out var current))
        {
            return true;
        }

        await current.CancelAsync().ConfigureAwait(false);
        try
        {
            await current.Released.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Registers an exclusive operation, taking over from any predecessor. Null when the predecessor would not let go.</summary>
    public async Task<ActiveOperation?> BeginAsync(string uploadId, TimeSpan wait, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (!await EndActiveAsync(uploadId, wait, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var operation = new ActiveOperation(this, uploadId, cancellationToken);
            if (_active.TryAdd(uploadId, operation))
            {
                if (_stopping)
                {
                    // Shutting down: the operation ends at its first durable point, like one in flight.
                    await operation.CancelAsync().ConfigureAwait(false);
                }

                return operation;
            }

            operation.Dispose();
        }
    }

    private void Remove(ActiveOperation operation) =>
        _active.TryRemove(new KeyValuePair<string, ActiveOperation>(operation.UploadId, operation));

    internal sealed class ActiveOperation : IDisposable
    {
        private readonly UploadActivityRegistry _owner;
        private readonly CancellationTokenSource _takeover;
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ActiveOperation(UploadActivityRegistry owner, string uploadId, CancellationToken requestAborted)
        {
            _owner = owner;
            UploadId = uploadId;
            _takeover = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        }

        public string UploadId { get; }

        /// <summary>Cancelled when the request aborts or a newer request takes over.</summary>
        public CancellationToken Token => _takeover.Token;

        public Task Released => _released.Task;

        public Task CancelAsync() => _takeover.CancelAsync();

        public void Dispose()
        {
            _owner.Remove(this);
            _released.TrySetResult();
            _takeover.Dispose();
        }
    }
}
