using Google.Cloud.Storage.V1;
using StorageBridge.Backends.Gcs;

namespace Microsoft.Extensions.DependencyInjection;

public static class GcsServiceCollectionExtensions
{
    /// <summary>Makes <c>Backend: Gcs</c> available to configured targets (before or after AddStorageBridge).</summary>
    public static IServiceCollection AddGcsBackend(this IServiceCollection services) =>
        services.AddBackend<GcsBackendFactory, GcsTargetOptions, GcsTargetOptionsValidator>();

    /// <summary>A GCS target; its client comes from the options (BaseUri, CredentialsFile, or a client set in code).</summary>
    public static IStorageBridgeBuilder AddGcsTarget(this IStorageBridgeBuilder builder, string name, Action<GcsTargetOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddGcsBackend();
        return builder.AddTarget(name, "Gcs", configure);
    }

    /// <summary>A GCS target on a client from the application's services.</summary>
    public static IStorageBridgeBuilder AddGcsTarget(this IStorageBridgeBuilder builder, string name, Func<IServiceProvider, StorageClient> client, Action<GcsTargetOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.AddGcsTarget(name, o =>
        {
            o.ClientFactory = client;
            configure(o);
        });
    }
}
