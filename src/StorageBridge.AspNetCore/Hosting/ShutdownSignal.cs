namespace StorageBridge.AspNetCore.Hosting;

/// <summary>
/// Set when the host begins to stop, before running appends are interrupted (earlier than ApplicationStopping, which
/// fires after every hosted service's StoppingAsync): an append cut short by the shutdown can tell so.
/// </summary>
internal sealed class ShutdownSignal
{
    private volatile bool _stopping;

    public bool IsStopping => _stopping;

    public void Stop() => _stopping = true;
}
