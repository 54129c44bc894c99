using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using StorageBridge.Hooks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers creation hooks (<see cref="IUploadCreationHook"/>); they run in the order they were added.</summary>
public static class UploadCreationHookBuilderExtensions
{
    /// <summary>Adds <typeparamref name="THook"/> (a singleton from the container). Idempotent per type.</summary>
    public static IStorageBridgeBuilder AddUploadCreationHook<THook>(this IStorageBridgeBuilder builder)
        where THook : class, IUploadCreationHook
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadCreationHook, THook>());
        return builder;
    }

    /// <summary>Adds a hook instance.</summary>
    public static IStorageBridgeBuilder AddUploadCreationHook(this IStorageBridgeBuilder builder, IUploadCreationHook hook)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(hook);
        builder.Services.AddSingleton(hook);
        return builder;
    }

    /// <summary>Adds the pre-create webhook configured in code (see <see cref="PreCreateWebhook"/>); validated when first used.</summary>
    public static IStorageBridgeBuilder AddPreCreateWebhook(this IStorageBridgeBuilder builder, Action<PreCreateWebhookOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new PreCreateWebhookOptions();
        configure(options);
        AddWebhook(builder.Services, options);
        return builder;
    }

    /// <summary>The webhook of <c>StorageBridge:Hooks:PreCreate</c>, when that section names a <c>Url</c> (called by AddStorageBridge).</summary>
    internal static void AddConfiguredPreCreateWebhook(IServiceCollection services, IConfigurationSection bridgeSection)
    {
        var section = bridgeSection.GetSection("Hooks:PreCreate");
        if (section["Url"] is { Length: > 0 } || section["Secret"] is { Length: > 0 })
        {
            AddWebhook(services, PreCreateWebhookOptions.FromConfiguration(section));
        }
    }

    private static void AddWebhook(IServiceCollection services, PreCreateWebhookOptions options)
    {
        options.Validate();
        services.AddSingleton<IUploadCreationHook>(sp => new PreCreateWebhook(
            options, sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetRequiredService<ILogger<PreCreateWebhook>>()));
    }
}
