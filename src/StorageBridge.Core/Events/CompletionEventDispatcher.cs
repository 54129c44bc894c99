using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Uploads;

namespace StorageBridge.Events;

/// <summary>What one dispatch round did.</summary>
/// <param name="Due">Records the store listed as due (a full batch means more may be due).</param>
public readonly record struct EventDispatchRound(int Due, int Delivered, int Failed, int DeadLettered)
{
    public bool MoreDue => Due >= CompletionEventDispatcher.BatchSize;
}

/// <summary>
/// Delivers the completion events waiting in upload records' outboxes. Each round lists records with a due delivery,
/// takes the due deliveries of a record by compare-and-swap on it (a lease: attempt count, owner, lease end), delivers
/// them, then records each outcome (delivered, a retry with exponential backoff and jitter, or dead-lettered after
/// <c>MaxAttempts</c>) by another compare-and-swap. Instances sharing a store therefore never run the same attempt twice;
/// only an attempt whose outcome could not be recorded (a crash, a lease that lapsed) is repeated, with the same
/// idempotency key.
/// </summary>
public sealed partial class CompletionEventDispatcher
{
    /// <summary>Records listed per round.</summary>
    public const int BatchSize = 100;

    // Outcomes are recorded even during shutdown: an unrecorded success would be delivered again.
    private static readonly TimeSpan RecordTimeout = TimeSpan.FromSeconds(15);

    private readonly IUploadMetadataStore _store;
    private readonly Dictionary<string, ICompletionEventSink> _sinks;
    private readonly CompletionEventOptions _options;
    private readonly string _instanceId;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _deadLettered;

    public CompletionEventDispatcher(
        IUploadMetadataStore store,
        IEnumerable<ICompletionEventSink> sinks,
        CompletionEventOptions options,
        string instanceId,
        TimeProvider time,
        ILogger<CompletionEventDispatcher> logger,
        StorageBridgeMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(sinks);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        metrics ??= StorageBridgeMetrics.Default;
        _store = new InstrumentedMetadataStore(store, metrics);
        _sinks = new Dictionary<string, ICompletionEventSink>(StringComparer.Ordinal);
        foreach (var sink in sinks)
        {
            if (!_sinks.TryAdd(sink.Name, sink))
            {
                throw new ArgumentException($"Two completion event sinks are named '{sink.Name}'.", nameof(sinks));
            }
        }

        _options = options;
        _instanceId = instanceId;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _delivered = metrics.Meter.CreateCounter<long>("storagebridge.events.delivered", "{event}", "Completion events a sink accepted, by sink");
        _failed = metrics.Meter.CreateCounter<long>("storagebridge.events.delivery_failures", "{attempt}", "Failed delivery attempts of completion events (retried), by sink");
        _deadLettered = metrics.Meter.CreateCounter<long>("storagebridge.events.dead_lettered", "{event}", "Completion events given up after MaxAttempts, by sink");
    }

    /// <summary>The sinks' names, in the order they were given (what completions record deliveries for).</summary>
    public IReadOnlyList<string> SinkNames => [.. _sinks.Keys];

    /// <summary>One round: every delivery due now (up to <see cref="BatchSize"/> records) is attempted once.</summary>
    public async Task<EventDispatchRound> DispatchDueAsync(CancellationToken cancellationToken)
    {
        var records = new List<UploadRecord>();
        await foreach (var record in _store.ListDueEventsAsync(_time.GetUtcNow(), BatchSize, cancellationToken).ConfigureAwait(false))
        {
            records.Add(record);
        }

        int delivered = 0, failed = 0, deadLettered = 0;
        await Parallel.ForEachAsync(
            records,
            new ParallelOptions { MaxDegreeOfParallelism = _options.ConcurrencyOrDefault, CancellationToken = cancellationToken },
            async (record, token) =>
            {
                try
                {
                    var (d, f, x) = await DispatchRecordAsync(record, token).ConfigureAwait(false);
                    Interlocked.Add(ref delivered, d);
                    Interlocked.Add(ref failed, f);
                    Interlocked.Add(ref deadLettered, x);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    // A store failure on one record: its lease (if taken) lapses and the delivery is due again.
                    Log.DispatchFailed(_logger, record.Id, ex);
                }
            }).ConfigureAwait(false);
        return new EventDispatchRound(records.Count, delivered, failed, deadLettered);
    }

    /// <summary>Rounds until nothing more is due or <paramref name="maxRounds"/> ran; the sum of what they did.</summary>
    public async Task<EventDispatchRound> DispatchAllDueAsync(int maxRounds, CancellationToken cancellationToken)
    {
        var total = default(EventDispatchRound);
        for (var round = 0; round < maxRounds; round++)
        {
            var done = await DispatchDueAsync(cancellationToken).ConfigureAwait(false);
            total = new EventDispatchRound(done.Due, total.Delivered + done.Delivered, total.Failed + done.Failed, total.DeadLettered + done.DeadLettered);
            if (!done.MoreDue)
            {
                break;
            }
        }

        return total;
    }

    private async Task<(int Delivered, int Failed, int DeadLettered)> DispatchRecordAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (record.Outbox is not { } outbox)
        {
            return default;
        }

        var due = outbox.Deliveries.Where(d => d.Status == EventDeliveryStatus.Pending && d.DueAt <= now).Select(d => d.Sink).ToHashSet(StringComparer.Ordinal);
        if (due.Count == 0)
        {
            return default;
        }

        // The lease: one compare-and-swap takes every due delivery of this record; losing it means another instance
        // took them (or the record changed) and this round leaves the record alone.
        var leaseUntil = now + _options.DeliveryLeaseOrDefault;
        var leasedOutbox = outbox with
        {
            Deliveries = [.. outbox.Deliveries.Select(d => due.Contains(d.Sink)
                ? d with { Attempts = d.Attempts + 1, LeaseOwner = _instanceId, LeaseUntil = leaseUntil, DueAt = leaseUntil }
                : d)],
        };
        var leased = await _store.TryReplaceAsync(record with { Outbox = leasedOutbox }, cancellationToken).ConfigureAwait(false);
        if (leased.Status != MetadataWriteStatus.Success)
        {
            return default;
        }

        var outcomes = new List<(EventDelivery Leased, string? Error)>(due.Count);
        foreach (var delivery in leasedOutbox.Deliveries.Where(d => due.Contains(d.Sink)))
        {
            outcomes.Add((delivery, await DeliverAsync(outbox.Event, delivery.Sink, cancellationToken).ConfigureAwait(false)));
        }

        return await RecordOutcomesAsync(leased.Record!, outcomes).ConfigureAwait(false);
    }

    /// <summary>One attempt; null when the sink accepted the event, else why it failed.</summary>
    private async Task<string?> DeliverAsync(UploadCompletedEvent completed, string sinkName, CancellationToken cancellationToken)
    {
        if (!_sinks.TryGetValue(sinkName, out var sink))
        {
            // Configuration changed (or differs between instances): retried, and dead-lettered if it stays so.
            return $"No sink named '{sinkName}' is configured on instance {_instanceId}.";
        }

        // An attempt ends before its lease does, so no other instance starts one while this one may still land.
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(_options.DeliveryLeaseOrDefault * 0.8);
        try
        {
            await sink.DeliverAsync(completed, attempt.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return ex is OperationCanceledException ? "The attempt timed out." : $"{ex.GetType().Name}: {ex.Message}";
        }
    }

    private async Task<(int Delivered, int Failed, int DeadLettered)> RecordOutcomesAsync(UploadRecord leased, List<(EventDelivery Leased, string? Error)> outcomes)
    {
        using var timeout = new CancellationTokenSource(RecordTimeout);
        var current = leased;
        while (true)
        {
            var now = _time.GetUtcNow();
            var outbox = current.Outbox!;
            int delivered = 0, failed = 0, deadLettered = 0;
            var changed = false;
            foreach (var (mine, error) in outcomes)
            {
                // Only while the delivery is still this attempt's: a lease that lapsed may have been taken over.
                var stored = outbox.Deliveries.FirstOrDefault(d => string.Equals(d.Sink, mine.Sink, StringComparison.Ordinal));
                if (stored is null || stored.Status != EventDeliveryStatus.Pending || stored.LeaseOwner != _instanceId || stored.Attempts != mine.Attempts)
                {
                    Log.LeaseLost(_logger, current.Id, mine.Sink, mine.Attempts);
                    continue;
                }

                changed = true;
                EventDelivery next;
                if (error is null)
                {
                    next = stored with { Status = EventDeliveryStatus.Delivered, FinishedAt = now, LeaseOwner = null, LeaseUntil = null, LastError = null };
                    delivered++;
                }
                else if (stored.Attempts >= _options.MaxAttemptsOrDefault)
                {
                    next = stored with { Status = EventDeliveryStatus.DeadLettered, FinishedAt = now, LeaseOwner = null, LeaseUntil = null, LastError = error };
                    deadLettered++;
                }
                else
                {
                    next = stored with { DueAt = now + RetryDelay(stored.Attempts), LeaseOwner = null, LeaseUntil = null, LastError = error };
                    failed++;
                }

                outbox = outbox.WithDelivery(mine.Sink, _ => next);
            }

            if (!changed)
            {
                return default;
            }

            var written = await _store.TryReplaceAsync(current with { Outbox = outbox }, timeout.Token).ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                Report(written.Record!, outcomes);
                return (delivered, failed, deadLettered);
            }

            if (written.Status == MetadataWriteStatus.NotFound
                || await _store.GetAsync(current.Id, timeout.Token).ConfigureAwait(false) is not { Outbox: not null } reread)
            {
                return default;
            }

            // Something else changed the record (a cancel, another sink's outcome): apply ours to what is stored now.
            current = reread;
        }
    }

    private void Report(UploadRecord written, List<(EventDelivery Leased, string? Error)> outcomes)
    {
        foreach (var (mine, _) in outcomes)
        {
            var stored = written.Outbox!.Deliveries.First(d => string.Equals(d.Sink, mine.Sink, StringComparison.Ordinal));
            var tag = new KeyValuePair<string, object?>("sink", stored.Sink);
            switch (stored.Status)
            {
                case EventDeliveryStatus.Delivered when stored.Attempts == mine.Attempts && stored.FinishedAt is not null && stored.LeaseOwner is null:
                    _delivered.Add(1, tag);
                    Log.Delivered(_logger, written.Id, stored.Sink, stored.Attempts);
                    break;
                case EventDeliveryStatus.DeadLettered when stored.Attempts == mine.Attempts:
                    _deadLettered.Add(1, tag);
                    Log.DeadLettered(_logger, written.Id, stored.Sink, stored.Attempts, stored.LastError);
                    break;
                case EventDeliveryStatus.Pending when stored.Attempts == mine.Attempts && stored.LeaseOwner is null:
                    _failed.Add(1, tag);
                    Log.DeliveryFailed(_logger, written.Id, stored.Sink, stored.Attempts, stored.DueAt, stored.LastError);
                    break;
            }
        }
    }

    /// <summary>RetryDelay doubled per failed attempt, capped at MaxRetryDelay, with equal jitter (between half and all of it).</summary>
    private TimeSpan RetryDelay(int attempts)
    {
        var cap = _options.MaxRetryDelayOrDefault;
        var delay = _options.RetryDelayOrDefault * Math.Pow(2, Math.Min(attempts - 1, 30));
        if (delay > cap)
        {
            delay = cap;
        }

        return delay * (0.5 + (Random.Shared.NextDouble() * 0.5));
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.Events.Delivered, LogLevel.Information, "Completion event of upload {UploadId} delivered to sink {Sink} (attempt {Attempt})")]
        public static partial void Delivered(ILogger logger, string uploadId, string sink, int attempt);

        [LoggerMessage(EventIds.Events.DeadLettered, LogLevel.Error, "Completion event of upload {UploadId} dead-lettered for sink {Sink} after {Attempts} attempts: {LastError}")]
        public static partial void DeadLettered(ILogger logger, string uploadId, string sink, int attempts, string? lastError);

        [LoggerMessage(EventIds.Events.DeliveryFailed, LogLevel.Warning, "Completion event of upload {UploadId} not delivered to sink {Sink} (attempt {Attempt}); next attempt at {DueAt:O}: {Error}")]
        public static partial void DeliveryFailed(ILogger logger, string uploadId, string sink, int attempt, DateTimeOffset dueAt, string? error);

        [LoggerMessage(EventIds.Events.DispatchFailed, LogLevel.Warning, "Dispatching the completion event of upload {UploadId} failed; it is due again when its lease lapses")]
        public static partial void DispatchFailed(ILogger logger, string uploadId, Exception exception);

        [LoggerMessage(EventIds.Events.LeaseLost, LogLevel.Warning, "Delivery of upload {UploadId} to sink {Sink} (attempt {Attempt}) was taken over before its outcome was recorded; it may be delivered again")]
        public static partial void LeaseLost(ILogger logger, string uploadId, string sink, int attempt);
    }
}
