using Amazon.S3;
using StorageBridge.Backends.S3;

namespace Microsoft.Extensions.DependencyInjection;

public static class S3ServiceCollectionExtensions
{
    /// <summary>Makes <c>Backend: S3</c> available to configured targets (before or after AddStorageBridge).</summary>
    public static IServiceCollection AddStorageBridgeS3(this IServiceCollection services) =>
        services.AddBackend<S3BackendFactory, S3TargetOptions, S3TargetOptionsValidator>();

    /// <summary>An S3 target; its client is built from the options (Region, ServiceUrl, credentials) or set in <see cref="S3TargetOptions.Client"/>.</summary>
    public static IStorageBridgeBuilder AddS3Target(this IStorageBridgeBuilder builder, string name, Action<S3TargetOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddStorageBridgeS3();
        return builder.AddTarget(name, "S3", configure);
    }

    /// <summary>An S3 target on a client from the application's services, e.g. <c>sp =&gt; sp.GetRequiredService&lt;IAmazonS3&gt;()</c>.</summary>
    public static IStorageBridgeBuilder AddS3Target(this IStorageBridgeBuilder builder, string name, Func<IServiceProvider, IAmazonS3> client, Action<S3TargetOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.AddS3Target(name, o =>
        {
            o.ClientFactory = client;
            configure(o);
        });
    }
}
