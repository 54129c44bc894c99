using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using StorageBridge.AspNetCore;
using StorageBridge.Configuration;
using StorageBridge.Diagnostics;

namespace StorageBridge.Host;

/// <summary>
/// What the Host adds for operating it (docs/operations.md): JSON console logs on request, the shutdown timeout,
/// OpenTelemetry (OTLP exporter, Prometheus scrape endpoint) and the health endpoints; the start-up summary comes with
/// AddStorageBridge. Program.cs calls <see cref="AddStorageBridgeOperations"/> and
/// <see cref="MapStorageBridgeOperations"/> once each.
/// </summary>
internal static class HostOperations
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
}
