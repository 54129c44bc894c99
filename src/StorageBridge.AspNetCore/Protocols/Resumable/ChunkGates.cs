namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>In-process coordination of one upload's chunk requests (instances coordinate through the record).</summary>
internal sealed class ChunkGate
{
    private readonly Dictionary<int, Task> _inFlight = [];

    /// <summary>Held while this process appends to the upload: two appends from here would cancel each other.</summary>
    public SemaphoreSlim Appending { get; } = new(1, 1);

    /// <summary>1 when a staged chunk was recorded while <see cref="Appending"/> was held: the holder looks again.</summary>
    public int PendingDrain;

    /// <summary>Guarded by the registry lock (<see cref="ChunkGates"/>).</summary>
    public int Users { get; set; }

    public Task? InFlight(int number)
    {
        lock (_inFlight)
        {
            return _inFlight.GetValueOrDefault(number);
        }
    }

    /// <summary>Claims a chunk number; returns the task of an earlier request holding it instead, if any.</summary>
    public Task? TryClaim(int number, Task mine)
    {
        lock (_inFlight)
        {
            if (_inFlight.TryGetValue(number, out var earlier) && earlier != mine)
            {
                return earlier;
            }

            _inFlight[number] = mine;
            return null;
        }
    }

    public void Release(int number, Task mine)
    {
        lock (_inFlight)
        {
            if (_inFlight.GetValueOrDefault(number) == mine)
            {
                _inFlight.Remove(number);
            }
        }
    }

    /// <summary>Waits for <paramref name="task"/> to end, however it ends (the request that failed answers for itself).</summary>
    public static async Task WaitQuietlyAsync(Task task, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Only its end matters here.
        }
    }
}

/// <summary>The gates of the uploads that have chunk requests in this process right now.</summary>
internal sealed class ChunkGates
{
    private readonly Dictionary<string, ChunkGate> _gates = new(StringComparer.Ordinal);

    public ChunkGate Enter(string uploadId)
    {
        lock (_gates)
        {
            if (!_gates.TryGetValue(uploadId, out var gate))
            {
                gate = new ChunkGate();
                _gates[uploadId] = gate;
            }

            gate.Users++;
            return gate;
        }
    }

    public void Leave(string uploadId, ChunkGate gate)
    {
        lock (_gates)
        {
            if (--gate.Users == 0)
            {
                _gates.Remove(uploadId);
                gate.Appending.Dispose();
            }
        }
    }
}
