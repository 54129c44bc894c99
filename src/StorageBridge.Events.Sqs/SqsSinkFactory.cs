using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;

namespace StorageBridge.Events.Sqs;

/// <summary>
/// Builds <c>Type: Sqs</c> sinks: <c>QueueUrl</c> (required; ".fifo" for FIFO), <c>ServiceUrl</c>, <c>Region</c>,
/// <c>AccessKey</c>/<c>SecretKey</c> (emulators), <c>MessageGroupId</c> (FIFO; default the event's target).
/// </summary>
public sealed class SqsSinkFactory : ICompletionEventSinkFactory
{
    public const string TypeName = "Sqs";

    public string Type => TypeName;

    public ICompletionEventSink Create(string name, IConfigurationSection section, IServiceProvider services)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(services);
        var options = new SqsSinkOptions();
        ConfigurationBinding.Bind(section, options, "Type");
        foreach (var configure in services.GetServices<IConfigureOptions<SqsSinkOptions>>())
        {
            if (configure is IConfigureNamedOptions<SqsSinkOptions> named)
            {
                named.Configure(name, options);
            }
            else
            {
                configure.Configure(options);
            }
        }

        Validate(section, options);
        return new SqsSink(name, options, services.GetRequiredService<ILogger<SqsSink>>());
    }

    /// <summary>Refuses what cannot work, naming the key (start-up fails).</summary>
    public static void Validate(IConfigurationSection section, SqsSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(options);
        if (options.QueueUrl is not { IsAbsoluteUri: true } queue || (queue.Scheme != Uri.UriSchemeHttps && queue.Scheme != Uri.UriSchemeHttp))
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section, "QueueUrl"), "the queue's absolute http(s) URL is required.");
        }

        if (options.ServiceUrl is { } service && (!service.IsAbsoluteUri || (service.Scheme != Uri.UriSchemeHttps && service.Scheme != Uri.UriSchemeHttp)))
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section, "ServiceUrl"), "an absolute http(s) URL is required.");
        }

        if (string.IsNullOrEmpty(options.AccessKey) != string.IsNullOrEmpty(options.SecretKey))
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section, "SecretKey"), "AccessKey and SecretKey go together.");
        }

        if (options.MessageGroupId is { } group && (group.Length is 0 or > 128 || !group.All(c => c is > ' ' and <= '~')))
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section, "MessageGroupId"), "1-128 letters, digits or punctuation are required.");
        }
    }
}
