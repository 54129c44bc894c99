using StorageBridge.Configuration;

namespace StorageBridge.Events;

/// <summary>
/// Section <c>StorageBridge:Events</c> (sinks themselves are under <c>Sinks:{name}</c>, read by their factories).
/// Unset values keep the defaults.
/// </summary>
public sealed class CompletionEventOptions
{
    public const int DefaultMaxAttempts = 8;

    /// <summary><c>MaxAttempts</c>: attempts per sink before the delivery is dead-lettered (default 8).</summary>
    public int? MaxAttempts { get; set; }

    /// <summary><c>RetryDelay</c>: wait after the first failed attempt, doubled after each further one (default 10s).</summary>
    public Duration? RetryDelay { get; set; }

    /// <summary><c>MaxRetryDelay</c>: the longest wait between attempts (default 1h).</summary>
    public Duration? MaxRetryDelay { get; set; }

    /// <summary>
    /// <c>DeliveryLease</c>: how long an instance holds a delivery while it runs (default 1m). An attempt is cut off
    /// before its lease ends; a delivery whose instance died becomes due again when the lease lapses.
    /// </summary>
    public Duration? DeliveryLease { get; set; }

    /// <summary>
    /// <c>DispatchInterval</c>: how often the hosted dispatcher looks for due deliveries besides waking on this instance's
    /// completions (default 10s); <c>none</c>: no hosted dispatcher (a schedule calls the maintenance endpoint instead).
    /// </summary>
    public Duration? DispatchInterval { get; set; }

    /// <summary><c>Concurrency</c>: records one instance delivers at once (default 4).</summary>
    public int? Concurrency { get; set; }

    internal int MaxAttemptsOrDefault => MaxAttempts ?? DefaultMaxAttempts;

    internal TimeSpan RetryDelayOrDefault => RetryDelay?.Value ?? TimeSpan.FromSeconds(10);

    internal TimeSpan MaxRetryDelayOrDefault => MaxRetryDelay?.Value ?? TimeSpan.FromHours(1);

    internal TimeSpan DeliveryLeaseOrDefault => DeliveryLease?.Value ?? TimeSpan.FromMinutes(1);

    /// <summary>Null: the hosted dispatcher does not poll (set to <c>none</c>).</summary>
    public TimeSpan? EffectiveDispatchInterval => DispatchInterval is { } interval ? interval.Value : TimeSpan.FromSeconds(10);

    internal int ConcurrencyOrDefault => Concurrency ?? 4;

    /// <summary>Throws <see cref="StorageBridgeConfigurationException"/> naming the first bad key under <paramref name="path"/>.</summary>
    public void Validate(string path)
    {
        if (MaxAttempts is < 1)
        {
            throw new StorageBridgeConfigurationException($"{path}:MaxAttempts", $"'{MaxAttempts}' is not a number of attempts; use 1 or more.");
        }

        if (Concurrency is < 1 or > 64)
        {
            throw new StorageBridgeConfigurationException($"{path}:Concurrency", $"'{Concurrency}' is out of range; use 1 to 64.");
        }

        if (RetryDelayOrDefault > MaxRetryDelayOrDefault)
        {
            throw new StorageBridgeConfigurationException($"{path}:RetryDelay", $"{RetryDelayOrDefault} is longer than MaxRetryDelay ({MaxRetryDelayOrDefault}).");
        }
    }
}
