using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StorageBridge.Coordination;
using StorageBridge.Events;

namespace StorageBridge.AspNetCore.Hosting;

/// <summary>
/// Runs the completion event dispatcher in the background: at once when this instance records a completion, and every
/// <c>Events:DispatchInterval</c> for retries, deliveries other instances left behind and leases that lapsed. Off when
/// no sink is configured or the interval is <c>none</c> (the maintenance endpoint or a Functions timer dispatches then).
/// </summary>
internal sealed partial class EventDispatchService(
    CompletionEventDispatcher dispatcher,
    UploadCoordinator coordinator,
    IOptions<CompletionEventOptions> options,
    ILogger<EventDispatchService> logger) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (dispatcher.SinkNames.Count == 0 || options.Value.EffectiveDispatchInterval is not { } interval)
        {
            return;
        }

        coordinator.CompletionEventRecorded += Wake;
        try
        {
            Log.Started(logger, string.Join(", ", dispatcher.SinkNames), interval);
            while (!stoppingToken.IsCancellationRequested)
            {
                var more = false;
                try
                {
                    more = (await dispatcher.DispatchDueAsync(stoppingToken)).MoreDue;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.RoundFailed(logger, ex);
                }

                if (!more)
                {
                    await _wake.WaitAsync(interval, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: a delivery cut off here is due again when its lease lapses.
        }
        finally
        {
            coordinator.CompletionEventRecorded -= Wake;
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private void Wake(string uploadId)
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken: the coming round lists every due event anyway.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.Events.DispatcherStarted, LogLevel.Information, "Completion event dispatcher running for sinks {Sinks} (polling every {Interval})")]
        public static partial void Started(ILogger logger, string sinks, TimeSpan interval);

        [LoggerMessage(Diagnostics.EventIds.Events.DispatchRoundFailed, LogLevel.Warning, "Completion event dispatch round failed; retrying at the next interval")]
        public static partial void RoundFailed(ILogger logger, Exception exception);
    }
}
