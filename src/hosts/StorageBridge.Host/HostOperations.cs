using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using StorageBridge.AspNetCore;
using StorageBridge.Configuration;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Targets;

namespace StorageBridge.Host;

/// <summary>
/// What the Host adds for operating it (docs/operations.md): JSON console logs on request, the shutdown timeout,
/// OpenTelemetry (OTLP exporter, Prometheus scrape endpoint), the health endpoints and the start-up summary. Program.cs
/// calls <see cref="AddStorageBridgeOperations"/> and <see cref="MapStorageBridgeOperations"/> once each.
/// </summary>
internal static partial class HostOperations
{
    private const string TelemetrySection = "StorageBridge:Telemetry";

    public static WebApplicationBuilder AddStorageBridgeOperations(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;

        // The slim builder registers the simple formatter only and sets it in code, after configuration is bound:
        // AddConsole adds json and systemd, and the configured name is applied again last, so
        // Logging:Console:FormatterName=json works. JSON lines carry scopes (upload id, target) and a UTC timestamp
        // unless configuration says otherwise.
        builder.Logging.AddConsole();
        builder.Services.Configure<ConsoleLoggerOptions>(options =>
        {
            if (configuration["Logging:Console:FormatterName"] is { Length: > 0 } name)
            {
                options.FormatterName = name;
            }
        });
        builder.Services.Configure<JsonConsoleFormatterOptions>(options =>
        {
            var formatter = configuration.GetSection("Logging:Console:FormatterOptions");
            if (formatter["IncludeScopes"] is null)
            {
                options.IncludeScopes = true;
            }

            if (formatter["TimestampFormat"] is null)
            {
                options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                options.UseUtcTimestamp = true;
            }
        });

        // How long a SIGTERM waits for running requests; appends are told to stop at once and store what they
        // received (StorageBridgeInitializer), so this bounds a slow backend write, not the client.
        const string shutdownKey = "StorageBridge:ShutdownTimeout";
        if (configuration[shutdownKey] is { Length: > 0 } shutdown)
        {
            var timeout = Duration.TryParse(shutdown, out var parsed) && parsed.Value is { } value
                ? value
                : throw new StorageBridgeConfigurationException(shutdownKey, $"'{shutdown}' is not a duration (e.g. \"30s\", \"2m\").");
            builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = timeout);
        }

        AddTelemetry(builder);
        builder.Services.AddHostedService<StartupSummary>();
        return builder;
    }

    public static WebApplication MapStorageBridgeOperations(this WebApplication app)
    {
        app.MapStorageBridgeHealthChecks("/healthz");
        if (PrometheusEnabled(app.Configuration))
        {
            app.MapPrometheusScrapingEndpoint(app.Configuration[$"{TelemetrySection}:Prometheus:Path"] ?? "/metrics");
        }

        return app;
    }

    private static bool PrometheusEnabled(IConfiguration configuration) =>
        configuration.GetValue<bool>($"{TelemetrySection}:Prometheus:Enabled");

    private static void AddTelemetry(WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var section = configuration.GetSection(TelemetrySection);
        var endpoint = section["Otlp:Endpoint"];
        // The exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself when no endpoint is set here.
        var otlp = endpoint is { Length: > 0 } || configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 };
        var prometheus = PrometheusEnabled(configuration);
        if (!otlp && !prometheus)
        {
            return;
        }

        var protocol = section["Otlp:Protocol"] switch
        {
            null or "" => (OtlpExportProtocol?)null,
            "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            var other => throw new StorageBridgeConfigurationException($"{TelemetrySection}:Otlp:Protocol", $"'{other}' is not grpc or http/protobuf."),
        };

        void ConfigureOtlp(OtlpExporterOptions options, string signal)
        {
            if (protocol is { } chosen)
            {
                options.Protocol = chosen;
            }

            if (endpoint is { Length: > 0 })
            {
                // Over HTTP a programmatic endpoint is the full URL of the signal (the variables add the path themselves).
                options.Endpoint = options.Protocol == OtlpExportProtocol.HttpProtobuf
                    ? new Uri(new Uri(endpoint.TrimEnd('/') + "/"), "v1/" + signal)
                    : new Uri(endpoint);
            }
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(section["ServiceName"] ?? "storagebridge"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(StorageBridgeTelemetry.Name).AddAspNetCoreInstrumentation();
                if (prometheus)
                {
                    // No cached answer: a scrape right after an upload sees its counts.
                    metrics.AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0);
                }

                if (otlp)
                {
                    metrics.AddOtlpExporter(options => ConfigureOtlp(options, "metrics"));
                }
            });
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(StorageBridgeTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter(options => ConfigureOtlp(options, "traces")));
        }
    }

    /// <summary>One log block once the server listens: addresses, targets and where data and metadata go.</summary>
    private sealed partial class StartupSummary(
        IHostApplicationLifetime lifetime, IServer server, UploadTargetRegistry targets, IUploadMetadataStore store, ILoggerFactory loggers)
        : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStarted.Register(() => LogStarted(loggers.CreateLogger("StorageBridge.Host"), Describe()));
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        private string Describe()
        {
            var text = new StringBuilder();
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            text.Append(CultureInfo.InvariantCulture, $"listening on {string.Join(", ", addresses)}");
            text.Append(CultureInfo.InvariantCulture, $"\n  metadata: {Where(store)}");
            foreach (var target in targets.All.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                text.Append(CultureInfo.InvariantCulture, $"\n  target {target.Name}: {target.Options.Backend}, {Where(target.Backend)}");
            }

            return text.ToString();
        }

        private static string Where(object dependency) =>
            dependency is IStorageReadinessProbe probe ? probe.Location : dependency.GetType().Name;

        [LoggerMessage(EventIds.Host.Started, LogLevel.Information, "StorageBridge started: {Summary}")]
        private static partial void LogStarted(ILogger logger, string summary);
    }
}
