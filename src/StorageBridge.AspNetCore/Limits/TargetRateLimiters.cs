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

    // Request bodies per principal that had to wait for bytes and have not ended yet.
    private readonly ConcurrentDictionary<string, int> _waitingBodies = new(StringComparer.Ordinal);

    public long PerSecond { get; }

    /// <summary>Most tokens one acquisition may ask for (the bucket's size).</summary>
    public int TokenLimit { get; }

    public PartitionedRateLimiter<string> Limiter { get; }

    /// <summary>
    /// How long a new request of <paramref name="partition"/> should wait: null while no other request body of the
    /// principal is waiting for bytes (it is within its rate), else the time the waiting reads need at the rate (at least 1 s).
    /// </summary>
    public TimeSpan? Exhausted(string partition)
    {
        if (_waitingBodies.GetValueOrDefault(partition) <= 0)
        {
            return null;
        }

        var queued = Limiter.GetStatistics(partition)?.CurrentQueuedCount ?? 0;
        return TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(queued / (double)PerSecond)));
    }

    /// <summary>The throttle of one request body of <paramref name="partition"/>; dispose it when the request ends.</summary>
    public ThrottledBody Throttle(string partition) => new(this, partition);

    /// <summary>One request body's reads: each waits until its bytes fit the principal's rate.</summary>
    internal sealed class ThrottledBody(ByteLimiter owner, string partition) : IDisposable
    {
        private int _waiting;

        /// <summary>Waits until <paramref name="count"/> bytes fit the rate.</summary>
        public async ValueTask ConsumeAsync(int count, CancellationToken cancellationToken)
        {
            var remaining = count;
            try
            {
                while (remaining > 0)
                {
                    var ask = Math.Min(remaining, owner.TokenLimit);
                    var acquiring = owner.Limiter.AcquireAsync(partition, ask, cancellationToken);
                    if (!acquiring.IsCompleted && Interlocked.Exchange(ref _waiting, 1) == 0)
                    {
                        // From the first wait until this request ends, the principal's bytes count as used up.
                        owner._waitingBodies.AddOrUpdate(partition, 1, static (_, n) => n + 1);
                    }

                    using var lease = await acquiring;
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
                // The bytes arrived already: they are delivered (and stored) like any bytes before a takeover; the next
                // read sees the cancellation.
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _waiting, 0) == 1)
            {
                owner._waitingBodies.AddOrUpdate(partition, 0, static (_, n) => n - 1);
                owner._waitingBodies.TryRemove(new KeyValuePair<string, int>(partition, 0));
            }
        }
    }
}
