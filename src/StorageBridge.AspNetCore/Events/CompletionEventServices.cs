using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StorageBridge.AspNetCore.Hosting;
using StorageBridge.Configuration;
using StorageBridge.Coordination;
using StorageBridge.Diagnostics;
using StorageBridge.Events;
using StorageBridge.Metadata;

namespace StorageBridge.AspNetCore.Events;

/// <summary>
/// The sinks of this application: every <see cref="ICompletionEventSink"/> registered in code, then one per
/// <c>StorageBridge:Events:Sinks:{name}</c>, built by the registered <see cref="ICompletionEventSinkFactory"/> whose
/// <c>Type</c> the section names.
/// </summary>
internal sealed class CompletionEventSinks(IReadOnlyList<ICompletionEventSink> sinks)
{
    public IReadOnlyList<ICompletionEventSink> All => sinks;

    public IReadOnlyList<string> Names => [.. sinks.Select(s => s.Name)];

    public static CompletionEventSinks Create(IServiceProvider services)
    {
        var source = services.GetRequiredService<StorageBridgeConfigurationSource>();
        var sinks = new List<ICompletionEventSink>(services.GetServices<ICompletionEventSink>());
        var factories = services.GetServices<ICompletionEventSinkFactory>().ToList();
        foreach (var section in source.Section?.GetSection("Events:Sinks").GetChildren() ?? [])
        {
            var typeKey = ConfigurationBinding.Key(section.Path, "Type");
            if (section["Type"] is not { Length: > 0 } type)
            {
                throw new StorageBridgeConfigurationException(typeKey, $"a completion event sink needs a Type ({Known(factories)}).");
            }

            var factory = factories.LastOrDefault(f => string.Equals(f.Type, type, StringComparison.OrdinalIgnoreCase))
                ?? throw new StorageBridgeConfigurationException(typeKey, $"'{type}' is not a sink type this application registered ({Known(factories)}).");
            sinks.Add(factory.Create(section.Key, section, services));
        }

        var duplicate = sinks.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new StorageBridgeConfigurationException($"{source.Path}:Events:Sinks:{duplicate.Key}", "two completion event sinks have this name.");
        }

        return new CompletionEventSinks(sinks);
    }

    private static string Known(List<ICompletionEventSinkFactory> factories) =>
        factories.Count == 0 ? "none is registered" : "registered: " + string.Join(", ", factories.Select(f => f.Type).Distinct(StringComparer.OrdinalIgnoreCase));
}

/// <summary>Binds <c>StorageBridge:Events</c> (all but <c>Sinks</c>) onto <see cref="CompletionEventOptions"/>.</summary>
internal sealed class CompletionEventSectionBinder(StorageBridgeConfigurationSource source) : IConfigureOptions<CompletionEventOptions>
{
    public void Configure(CompletionEventOptions options)
    {
        if (source.Section?.GetSection("Events") is { } section && section.Exists())
        {
            ConfigurationBinding.Bind(section, options, "Sinks");
        }
    }
}

internal static class CompletionEventServices
{
    /// <summary>Registers the webhook sink type, the sinks, the dispatcher and its hosted service (idempotent).</summary>
    public static void Add(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ICompletionEventSinkFactory, WebhookEventSinkFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<CompletionEventOptions>, CompletionEventSectionBinder>());
        services.TryAddSingleton(CompletionEventSinks.Create);
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<CompletionEventOptions>>().Value;
            options.Validate(sp.GetRequiredService<StorageBridgeConfigurationSource>().Path + ":Events");
            return new CompletionEventDispatcher(
                sp.GetRequiredService<IUploadMetadataStore>(),
                sp.GetRequiredService<CompletionEventSinks>().All,
                options,
                sp.GetRequiredService<StorageBridgeEngineOptions>().InstanceId,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<CompletionEventDispatcher>>(),
                sp.GetRequiredService<StorageBridgeMetrics>());
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, EventDispatchService>());
    }

    /// <summary>The engine's options with the sinks every completion records a delivery for.</summary>
    public static StorageBridgeEngineOptions EngineOptions(IServiceProvider services) =>
        services.GetRequiredService<StorageBridgeEngineOptions>() with { EventSinks = services.GetRequiredService<CompletionEventSinks>().Names };
}
