using System.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Uploads;

namespace StorageBridge.Diagnostics;

/// <summary>
/// The engine's view of the metadata store: each call is the activity <c>StorageBridge.Metadata.{operation}</c>
/// (kind Client, tagged with the upload id where there is one) and a measurement of
/// <c>storagebridge.metadata.call_duration</c> (failures also in <c>storagebridge.metadata.call_errors</c>). When
/// nothing listens a call goes straight to the store: no activity, no timestamp, no extra state machine.
/// </summary>
internal sealed class InstrumentedMetadataStore(IUploadMetadataStore inner, StorageBridgeMetrics metrics) : IUploadMetadataStore
{
    public const string Prefix = "StorageBridge.Metadata.";

    public IUploadMetadataStore Inner => inner;

    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public Task<MetadataWriteResult> CreateAsync(UploadRecord record, CancellationToken cancellationToken) =>
        Listened ? Run(Begin("Create", record.Id), (inner, record, cancellationToken), static s => s.inner.CreateAsync(s.record, s.cancellationToken)) : inner.CreateAsync(record, cancellationToken);

    public Task<UploadRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
        Listened ? Run(Begin("Get", id), (inner, id, cancellationToken), static s => s.inner.GetAsync(s.id, s.cancellationToken)) : inner.GetAsync(id, cancellationToken);

    public Task<MetadataWriteResult> TryReplaceAsync(UploadRecord record, CancellationToken cancellationToken) =>
        Listened ? Run(Begin("Replace", record.Id), (inner, record, cancellationToken), static s => s.inner.TryReplaceAsync(s.record, s.cancellationToken)) : inner.TryReplaceAsync(record, cancellationToken);

    public Task<MetadataWriteStatus> TryDeleteAsync(string id, string version, CancellationToken cancellationToken) =>
        Listened ? Run(Begin("Delete", id), (inner, id, version, cancellationToken), static s => s.inner.TryDeleteAsync(s.id, s.version, s.cancellationToken)) : inner.TryDeleteAsync(id, version, cancellationToken);

    // An enumeration spans the caller's work between items: it is not timed as one call.
    public IAsyncEnumerable<UploadRecord> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        inner.ListExpiredAsync(now, limit, cancellationToken);

    public IAsyncEnumerable<UploadRecord> ListDueEventsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        inner.ListDueEventsAsync(now, limit, cancellationToken);

    public Task<LookupWriteResult> TryAddLookupAsync(UploadLookup lookup, CancellationToken cancellationToken) =>
        Listened ? Run(Begin("AddLookup", lookup.UploadId), (inner, lookup, cancellationToken), static s => s.inner.TryAddLookupAsync(s.lookup, s.cancellationToken)) : inner.TryAddLookupAsync(lookup, cancellationToken);

    public Task<UploadLookup?> GetLookupAsync(string key, CancellationToken cancellationToken) =>
        Listened ? Run(Begin("GetLookup", null), (inner, key, cancellationToken), static s => s.inner.GetLookupAsync(s.key, s.cancellationToken)) : inner.GetLookupAsync(key, cancellationToken);

    public Task<LookupWriteResult> TryReplaceLookupAsync(UploadLookup lookup, CancellationToken cancellationToken) =>
        Listened ? Run(Begin("ReplaceLookup", lookup.UploadId), (inner, lookup, cancellationToken), static s => s.inner.TryReplaceLookupAsync(s.lookup, s.cancellationToken)) : inner.TryReplaceLookupAsync(lookup, cancellationToken);

    public Task<MetadataWriteStatus> TryDeleteLookupAsync(string key, string version, CancellationToken cancellationToken) =>
        Listened ? Run(Begin("DeleteLookup", null), (inner, key, version, cancellationToken), static s => s.inner.TryDeleteLookupAsync(s.key, s.version, s.cancellationToken)) : inner.TryDeleteLookupAsync(key, version, cancellationToken);

    public Task<int> DeleteExpiredLookupsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        Listened ? Run(Begin("DeleteExpiredLookups", null), (inner, now, limit, cancellationToken), static s => s.inner.DeleteExpiredLookupsAsync(s.now, s.limit, s.cancellationToken)) : inner.DeleteExpiredLookupsAsync(now, limit, cancellationToken);

    private bool Listened =>
        StorageBridgeTelemetry.ActivitySource.HasListeners() || metrics.MetadataCallDuration.Enabled || metrics.MetadataCallErrors.Enabled;

    private Call Begin(string operation, string? uploadId)
    {
        var activity = StorageBridgeTelemetry.ActivitySource.HasListeners()
            ? StorageBridgeTelemetry.ActivitySource.StartActivity(Prefix + operation, ActivityKind.Client)
            : null;
        if (uploadId is not null && activity is { IsAllDataRequested: true })
        {
            activity.SetTag(EngineActivities.UploadIdTag, uploadId);
        }

        return new Call(operation, activity, Stopwatch.GetTimestamp());
    }

    // The activity is current while the store's call starts (spans of the store's own client become its children):
    // Begin runs before the call is made, and this non-async method restores the caller's activity right after. A
    // store that throws before returning a task ends the call here.
    private Task<T> Run<TState, T>(Call call, TState state, Func<TState, Task<T>> invoke)
    {
        Task<T> task;
        try
        {
            task = invoke(state);
        }
        catch (Exception failure)
        {
            End(call, failure);
            throw;
        }
        finally
        {
            if (call.Activity is { } activity)
            {
                Activity.Current = activity.Parent;
            }
        }

        return EndAsync(call, task);
    }

    private async Task<T> EndAsync<T>(Call call, Task<T> task)
    {
        T result;
        try
        {
            result = await task.ConfigureAwait(false);
        }
        catch (Exception failure)
        {
            End(call, failure);
            throw;
        }

        End(call, null);
        return result;
    }

    private void End(Call call, Exception? failure)
    {
        var tags = new TagList { { "operation", call.Operation } };
        if (failure is not null)
        {
            var errorType = BackendCall.ErrorType(failure);
            tags.Add("error.type", errorType);
            metrics.MetadataCallErrors.Add(1, tags);
            call.Activity?.SetStatus(ActivityStatusCode.Error, errorType);
        }

        metrics.MetadataCallDuration.Record(Stopwatch.GetElapsedTime(call.Started).TotalSeconds, tags);
        call.Activity?.Stop();
    }

    private readonly record struct Call(string Operation, Activity? Activity, long Started);
}
