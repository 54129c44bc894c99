using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StorageBridge.Coordination;

namespace StorageBridge.AspNetCore.Hosting;

/// <summary>Expires abandoned uploads (aborting their backend data) and forgets old tombstones, every CleanupInterval.</summary>
internal sealed partial class ExpiryCleanupService : BackgroundService
{
    private readonly UploadCoordinator _coordinator;
    private readonly StorageBridgeEngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ExpiryCleanupService> _logger;
    private readonly bool _timer;

    public ExpiryCleanupService(
        UploadCoordinator coordinator, StorageBridgeEngineOptions options, TimeProvider time, ILogger<ExpiryCleanupService> logger, IOptions<StorageBridgeMaintenanceOptions> maintenance)
    {
        _coordinator = coordinator;
        _options = options;
        _time = time;
        _logger = logger;
        _timer = maintenance.Value.ExpiryTimer;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_timer)
        {
            // Maintenance:ExpiryTimer = false: something else (a schedule calling the maintenance endpoint) sweeps.
            Log.TimerOff(_logger);
            return;
        }

        using var timer = new PeriodicTimer(_options.CleanupInterval, _time);
        do
        {
            try
            {
                int handled;
                do
                {
                    handled = await _coordinator.CleanupExpiredAsync(stoppingToken);
                    if (handled > 0)
                    {
                        Log.Cleaned(_logger, handled);
                    }
                }
                while (handled >= 100);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.CleanupRoundFailed(_logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.Hosting.ExpiryCleaned, LogLevel.Information, "Expiry cleanup handled {Count} uploads")]
        public static partial void Cleaned(ILogger logger, int count);

        [LoggerMessage(Diagnostics.EventIds.Hosting.ExpiryRoundFailed, LogLevel.Warning, "Expiry cleanup round failed; retrying at the next interval")]
        public static partial void CleanupRoundFailed(ILogger logger, Exception exception);

        [LoggerMessage(Diagnostics.EventIds.Maintenance.TimerOff, LogLevel.Information, "Hosted expiry timer is off (StorageBridge:Maintenance:ExpiryTimer = false); expired uploads are swept only through the maintenance endpoint")]
        public static partial void TimerOff(ILogger logger);
    }
}
