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

    /// <summary>Whether an operation on <paramref name="uploadId"/> is in flight in this process now.</summary>
    public bool IsActive(string uploadId) => _active.ContainsKey(uploadId);

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

    /// <summary>
    /// Registers an exclusive operation, taking over from any predecessor. Null when the predecessor would not let go.
    /// <paramref name="requestAborted"/>: once the operation's client is gone, a takeover no longer cancels it (see
    /// <see cref="ActiveOperation"/>).
    /// </summary>
    public async Task<ActiveOperation?> BeginAsync(string uploadId, TimeSpan wait, CancellationToken cancellationToken, CancellationToken requestAborted = default)
    {
        while (true)
        {
            if (!await EndActiveAsync(uploadId, wait, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var operation = new ActiveOperation(this, uploadId, requestAborted);
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

    /// <summary>
    /// One request's claim on an upload. Its token is cancelled only by a newer request taking over, and only while the
    /// request's client is still there: a stalled client gives way at once, while a request whose client is gone is
    /// only storing bytes that already arrived (bounded, no waiting on the network) and finishes that first. A takeover
    /// may race the operation's end, so cancelling after <see cref="Dispose"/> is a no-op, never an
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    internal sealed class ActiveOperation : IDisposable
    {
        private readonly UploadActivityRegistry _owner;
        private readonly CancellationToken _requestAborted;
        private readonly CancellationTokenSource _takeover = new();
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _gate = new();
        private bool _disposed;

        public ActiveOperation(UploadActivityRegistry owner, string uploadId, CancellationToken requestAborted)
        {
            _owner = owner;
            _requestAborted = requestAborted;
            UploadId = uploadId;
        }

        public string UploadId { get; }

        /// <summary>Cancelled when a newer request for the upload takes over.</summary>
        public CancellationToken TakeoverToken => _takeover.Token;

        /// <summary>True once a newer request took over (stays readable after <see cref="Dispose"/>).</summary>
        public bool IsTakenOver { get; private set; }

        public Task Released => _released.Task;

        public Task CancelAsync()
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return Task.CompletedTask;
                }

                IsTakenOver = true;
                // Cancellation callbacks run on the thread pool, not under the lock.
                return _requestAborted.IsCancellationRequested ? Task.CompletedTask : _takeover.CancelAsync();
            }
        }

        public void Dispose()
        {
            _owner.Remove(this);
            _released.TrySetResult();
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
            }

            _takeover.Dispose();
        }
    }
}
