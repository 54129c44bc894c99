using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Hosting;

/// <summary>
/// One log block once the application has started (category <c>StorageBridge</c>): where the server listens, where
/// metadata goes and, per target, its backend and where its data goes (<see cref="IStorageReadinessProbe.Location"/>,
/// never a secret).
/// </summary>
internal sealed partial class StartupSummary(IServiceProvider services, IHostApplicationLifetime lifetime, ILoggerFactory loggers) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => LogStarted(loggers.CreateLogger("StorageBridge"), Describe()));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private string Describe()
    {
        var text = new StringBuilder();
        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses;
        text.Append(CultureInfo.InvariantCulture, $"listening on {(addresses is { Count: > 0 } ? string.Join(", ", addresses) : "(no server addresses)")}");
        text.Append(CultureInfo.InvariantCulture, $"\n  metadata: {Where(services.GetRequiredService<IUploadMetadataStore>())}");
        foreach (var target in services.GetRequiredService<UploadTargetRegistry>().All.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"\n  target {target.Name}: {target.Options.Backend}, {Where(target.Backend)}");
            if (target.Options.MaxUploadSizeDefaulted)
            {
                text.Append(CultureInfo.InvariantCulture, $", MaxUploadSize {target.Options.MaxUploadSize} bytes (the default cap of an exposed service; set MaxUploadSize to choose)");
            }
        }

        return text.ToString();
    }

    private static string Where(object dependency) =>
        dependency is IStorageReadinessProbe probe ? probe.Location : dependency.GetType().Name;

    [LoggerMessage(EventIds.Hosting.Started, LogLevel.Information, "StorageBridge started: {Summary}")]
    private static partial void LogStarted(ILogger logger, string summary);
}
