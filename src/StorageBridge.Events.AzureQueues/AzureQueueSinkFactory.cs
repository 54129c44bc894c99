using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;

namespace StorageBridge.Events.AzureQueues;

/// <summary>
/// Builds <c>Type: AzureQueue</c> sinks: <c>ConnectionString</c> or <c>ServiceUri</c> (Entra ID through
/// DefaultAzureCredential), <c>QueueName</c>, <c>CreateIfMissing</c> (default false), <c>MessageEncoding</c>
/// (Base64, the default, or None).
/// </summary>
public sealed partial class AzureQueueSinkFactory : ICompletionEventSinkFactory
{
    public const string TypeName = "AzureQueue";

    public string Type => TypeName;

    public ICompletionEventSink Create(string name, IConfigurationSection section, IServiceProvider services)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(services);
        var options = new AzureQueueSinkOptions();
        ConfigurationBinding.Bind(section, options, "Type");
        foreach (var configure in services.GetServices<IConfigureOptions<AzureQueueSinkOptions>>())
        {
            if (configure is IConfigureNamedOptions<AzureQueueSinkOptions> named)
            {
                named.Configure(name, options);
            }
            else
            {
                configure.Configure(options);
            }
        }

        Validate(section, options);
        return new AzureQueueSink(name, options, services.GetRequiredService<ILogger<AzureQueueSink>>());
    }

    /// <summary>Refuses what cannot work, naming the key (start-up fails).</summary>
    public static void Validate(IConfigurationSection section, AzureQueueSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.ConnectionString) && options.ServiceUri is null)
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationBinding.Key(section, "ConnectionString"), "a ConnectionString, or a ServiceUri for Entra ID, is required.");
        }

        if (options.ServiceUri is { } uri && (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)))
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section, "ServiceUri"), "an absolute http(s) URI is required.");
        }

        if (options.QueueName is not { } queue || !QueueNamePattern().IsMatch(queue))
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationBinding.Key(section, "QueueName"), $"'{options.QueueName}' is not a queue name: 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.");
        }
    }

    [GeneratedRegex("^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")]
    private static partial Regex QueueNamePattern();
}
