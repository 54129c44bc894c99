using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Configuration;
using StorageBridge.Events;

namespace StorageBridge.AspNetCore.Events;

/// <summary>
/// Builds <c>Type: Webhook</c> sinks from <c>StorageBridge:Events:Sinks:{name}</c>: <c>Url</c> (absolute http or https,
/// required), <c>Secret</c> (required, at least <see cref="MinSecretLength"/> characters), <c>Timeout</c> (default 10s).
/// </summary>
internal sealed class WebhookEventSinkFactory : ICompletionEventSinkFactory
{
    public const int MinSecretLength = 32;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public string Type => "Webhook";

    public ICompletionEventSink Create(string name, IConfigurationSection section, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(services);
        if (!Uri.TryCreate(section["Url"], UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationBinding.Key(section.Path, "Url"), $"'{section["Url"]}' is not an absolute http or https URL; a webhook sink needs one.");
        }

        if (section["Secret"] is not { Length: >= MinSecretLength } secret || string.IsNullOrWhiteSpace(secret))
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationBinding.Key(section.Path, "Secret"),
                $"a webhook sink signs every event and needs a secret of at least {MinSecretLength} characters.");
        }

        var timeout = DefaultTimeout;
        if (section["Timeout"] is { Length: > 0 } text)
        {
            if (!Duration.TryParse(text, out var parsed) || parsed.Value is not { } value)
            {
                throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section.Path, "Timeout"), $"'{text}' is not a duration; {Duration.Hint}");
            }

            timeout = value;
        }

        return new WebhookEventSink(name, url, secret, timeout, services.GetService<TimeProvider>() ?? TimeProvider.System);
    }
}
