using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Limits;

/// <summary>
/// The per-principal rate limiters of every target (System.Threading.RateLimiting token buckets, one partition per
/// principal): creations per minute and request body bytes per second. In memory, per instance: with N instances
/// behind a balancer a principal gets up to N times the rate (docs/limits.md).
/// </summary>
internal sealed class TargetRateLimiters : IDisposable
{
    private readonly ConcurrentDictionary<string, PartitionedRateLimiter<string>> _creations = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, ByteLimiter> _bytes = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The target's creation limiter, or null without <c>CreationsPerMinute</c>.</summary>
    public PartitionedRateLimiter<string>? Creations(UploadTarget target) =>
        target.Options.Quotas.CreationsPerMinute is int perMinute
            ? _creations.GetOrAdd(target.Name, _ => PartitionedRateLimiter.Create<string, string>(
                partition => RateLimitPartition.GetTokenBucketLimiter(partition, _ => CreationBucket(perMinute))))
            : null;

    /// <summary>The target's byte limiter, or null without <c>BytesPerSecond</c>.</summary>
    public ByteLimiter? Bytes(UploadTarget target) =>
        target.Options.Quotas.BytesPerSecond is long perSecond
            ? _bytes.GetOrAdd(target.Name, _ => new ByteLimiter(perSecond))
            : null;

    /// <summary>
    /// A bucket of <paramref name="perMinute"/> creations (the burst) refilled one at a time, evenly over the minute;
    /// no queue: a creation over the limit is refused at once with the time until the next token.
    /// </summary>
    internal static TokenBucketRateLimiterOptions CreationBucket(int perMinute)
    {
        var (period, tokens) = perMinute <= 600
            ? (TimeSpan.FromMinutes(1) / perMinute, 1)
            : (TimeSpan.FromMilliseconds(100), (int)Math.Ceiling(perMinute / 600.0));
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    public void Dispose()
    {
        foreach (var limiter in _creations.Values)
        {
            limiter.Dispose();
        }

        foreach (var limiter in _bytes.Values)
        {
            limiter.Limiter.Dispose();
        }
    }
}

/// <summary>
/// Request body bytes per second and principal: a bucket of one second's bytes, refilled every 100 ms. Reads wait
/// for tokens in the order they asked (the queue is unbounded: waiting readers are the requests already admitted).
/// </summary>
internal sealed class ByteLimiter
{
    public ByteLimiter(long perSecond)
    {
        PerSecond = perSecond;
        TokenLimit = (int)Math.Min(perSecond, int.MaxValue);
        var (period, tokens) = perSecond >= 10
            ? (TimeSpan.FromMilliseconds(100), (int)Math.Min(perSecond / 10, int.MaxValue))
            : (TimeSpan.FromSeconds(1), (int)perSecond);
        Limiter = PartitionedRateLimiter.Create<string, string>(partition => RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = TokenLimit,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        }));
    }

    public long PerSecond { get; }

    /// <summary>Most tokens one acquisition may ask for (the bucket's size).</summary>
    public int TokenLimit { get; }

    public PartitionedRateLimiter<string> Limiter { get; }

    /// <summary>
    /// How long a new request of <paramref name="partition"/> would wait, when the bucket is empty and other reads of
    /// the principal are already waiting for it; null when the principal is within its rate.
    /// </summary>
    public TimeSpan? Exhausted(string partition)
    {
        if (Limiter.GetStatistics(partition) is not { CurrentAvailablePermits: <= 0, CurrentQueuedCount: > 0 and var queued })
        {
            return null;
        }

        return TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(queued / (double)PerSecond)));
    }

    /// <summary>Waits until <paramref name="count"/> bytes of <paramref name="partition"/> fit the rate.</summary>
    public async ValueTask ConsumeAsync(string partition, int count, CancellationToken cancellationToken)
    {
        var remaining = count;
        try
        {
            while (remaining > 0)
            {
                var ask = Math.Min(remaining, TokenLimit);
                using var lease = await Limiter.AcquireAsync(partition, ask, cancellationToken);
                if (lease.IsAcquired)
                {
                    remaining -= ask;
                    continue;
                }

                await Task.Delay(lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? retry : TimeSpan.FromMilliseconds(100), cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // The bytes arrived already: they are delivered (and stored) like any bytes before a takeover; the next read
            // sees the cancellation.
        }
    }
}
