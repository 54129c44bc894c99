using Microsoft.Extensions.Configuration;
using StorageBridge.Configuration;

namespace StorageBridge.Hooks;

/// <summary>The pre-create webhook (section <c>StorageBridge:Hooks:PreCreate</c>).</summary>
public sealed class PreCreateWebhookOptions
{
    public const string SectionName = "StorageBridge:Hooks:PreCreate";

    /// <summary>Absolute http(s) URL the creation is POSTed to.</summary>
    public Uri? Url { get; set; }

    /// <summary>HMAC-SHA256 key of the signature header; at least 32 characters.</summary>
    public string? Secret { get; set; }

    /// <summary>How long the answer may take before the creation is refused with 503 (default 5 s).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Reads <paramref name="section"/> (<see cref="SectionName"/>); a malformed value throws naming its key.</summary>
    public static PreCreateWebhookOptions FromConfiguration(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var options = new PreCreateWebhookOptions { Secret = section["Secret"] };
        if (section["Url"] is { Length: > 0 } url)
        {
            options.Url = Uri.TryCreate(url, UriKind.Absolute, out var parsed)
                ? parsed
                : throw new StorageBridgeConfigurationException(SectionName + ":Url", $"'{url}' is not an absolute URL.");
        }

        if (section["Timeout"] is { Length: > 0 } timeout)
        {
            options.Timeout = Duration.TryParse(timeout, out var duration) && duration.Value is { } value
                ? value
                : throw new StorageBridgeConfigurationException(SectionName + ":Timeout", $"'{timeout}' is not a duration; use 5s or 00:00:05.");
        }

        return options;
    }

    /// <summary>Refuses what cannot work, naming the key (start-up fails).</summary>
    public void Validate()
    {
        if (Url is not { IsAbsoluteUri: true } url || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new StorageBridgeConfigurationException(SectionName + ":Url", "an absolute http or https URL is required.");
        }

        if (Secret is null || Secret.Length < WebhookSignature.MinSecretLength)
        {
            throw new StorageBridgeConfigurationException(
                SectionName + ":Secret", $"at least {WebhookSignature.MinSecretLength} characters are required (a random secret shared with the receiver).");
        }

        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(5))
        {
            throw new StorageBridgeConfigurationException(SectionName + ":Timeout", "more than 0 and at most 5 minutes is required.");
        }
    }
}
