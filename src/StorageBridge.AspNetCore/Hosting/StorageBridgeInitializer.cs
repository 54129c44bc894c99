using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StorageBridge.Coordination;
using StorageBridge.Metadata;

namespace StorageBridge.AspNetCore.Hosting;

/// <summary>
/// Builds the engine (every target's options bound and validated, backends created) and prepares the metadata store
/// (schema, container) while the host starts, before any hosted service starts and before the server accepts
/// requests: bad configuration or an unreachable store stops start-up instead of failing the first upload.
/// </summary>
internal sealed class StorageBridgeInitializer(IServiceProvider services) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        services.GetRequiredService<UploadCoordinator>();
        return services.GetRequiredService<IUploadMetadataStore>().InitializeAsync(cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Before the server stops (every StoppingAsync runs before any StopAsync): running appends end at a durable point
    /// and answer, so the server's wait for open requests ends early and HEAD after a restart reports every byte
    /// acknowledged. The token fires at the host's ShutdownTimeout.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        services.GetRequiredService<ShutdownSignal>().Stop();
        try
        {
            await services.GetRequiredService<UploadCoordinator>().InterruptAppendsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The shutdown timeout passed: the server aborts what is left (each append still stores what it received).
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
