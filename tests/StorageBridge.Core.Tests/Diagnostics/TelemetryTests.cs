using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Backends;
using StorageBridge.Core.Tests.Coordination;
using StorageBridge.Coordination;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Diagnostics;

/// <summary>
/// One append (a part and a tail) and one completing append, on an engine whose meter comes from a service provider's
/// <see cref="IMeterFactory"/>: the instruments of that meter count them, and the activities of the append, the
/// completion, each backend call and a cleanup round appear with their tags.
/// </summary>
public sealed class TelemetryTests : IDisposable
{
    private const int Part = 64 * KiB;
    private static readonly BackendCapabilities S3Like = FaultInjectingBackend.S3Like(maxTailSegments: 8);
    private static readonly UploadTargetOptions Target = new() { Backend = "S3Like", PartSize = Part };

    private readonly EngineHarness h = new(S3Like, Target);
    private readonly ServiceProvider services;
    private readonly StorageBridgeMetrics metrics;
    private readonly UploadCoordinator engine;
    private readonly ConcurrentQueue<Activity> activities = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, string? Target)> measurements = new();
    private readonly ConcurrentQueue<(string Operation, string ErrorType)> errors = new();
    private readonly ConcurrentQueue<string> storeCalls = new();
    private readonly ActivityListener activityListener;
    private readonly MeterListener meterListener = new();

    public TelemetryTests()
    {
        var collection = new ServiceCollection();
        collection.AddMetrics();
        collection.AddStorageBridge();
        services = collection.BuildServiceProvider();
        metrics = services.GetRequiredService<StorageBridgeMetrics>();
        engine = new UploadCoordinator(
            new UploadTargetRegistry([h.Target]), h.Store, h.EngineOptions with { InstanceId = "telemetry" }, h.Time, NullLogger<UploadCoordinator>.Instance, metrics);

        activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == StorageBridgeTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(activityListener);

        // Only this provider's meter: engines of other tests record on theirs (or on the process-wide default).
        meterListener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            measurements.Enqueue((instrument.Name, value, TargetOf(tags)));
            if (instrument.Name == "storagebridge.backend.call_errors")
            {
                errors.Enqueue((TagOf(tags, "operation")!, TagOf(tags, "error.type")!));
            }
        });
        meterListener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            measurements.Enqueue((instrument.Name, value, TargetOf(tags)));
            if (instrument.Name == "storagebridge.metadata.call_duration")
            {
                storeCalls.Enqueue(TagOf(tags, "operation")!);
            }
        });
        meterListener.Start();
    }

    public void Dispose()
    {
        meterListener.Dispose();
        activityListener.Dispose();
        services.Dispose();
        h.Dispose();
    }

    [Fact]
    public void The_meter_comes_from_the_service_providers_meter_factory()
    {
        Assert.Equal(StorageBridgeTelemetry.Name, metrics.Meter.Name);
        Assert.Same(services.GetRequiredService<IMeterFactory>(), metrics.Meter.Scope);
        var other = new ServiceCollection().AddMetrics();
        other.AddStorageBridge();
        using var otherServices = other.BuildServiceProvider();
        Assert.NotSame(metrics.Meter, otherServices.GetRequiredService<StorageBridgeMetrics>().Meter);
    }

    [Fact]
    public async Task An_append_and_a_completion_show_as_instruments_and_activities()
    {
        var source = Bytes(100_000, seed: 91);
        var upload = await h.CreateAsync(length: source.Length, via: engine);
        var first = await h.AppendAsync(upload.Id, 0, source[..80_000], via: engine);
        Assert.Equal(UploadOutcome.Success, first.Outcome);
        var done = await h.AppendAsync(upload.Id, 80_000, source[80_000..], complete: true, via: engine);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id, via: engine)));
        await engine.CleanupExpiredAsync(CancellationToken.None);

        // Instruments of the factory's meter.
        Assert.Equal(1, Sum("storagebridge.uploads_created"));
        Assert.Equal(source.Length, Sum("storagebridge.bytes_appended"));
        Assert.Equal(1, Sum("storagebridge.uploads_completed"));
        Assert.Equal(2, measurements.Count(m => m.Instrument == "storagebridge.append_duration"));
        Assert.All(measurements.Where(m => m.Instrument is "storagebridge.bytes_appended" or "storagebridge.uploads_completed"), m => Assert.Equal(TargetName, m.Target));

        // Activities of this upload (the store's carry the upload id only: one store serves every target).
        var mine = activities.Where(a => (string?)a.GetTagItem(EngineActivities.UploadIdTag) == upload.Id && !a.OperationName.StartsWith(InstrumentedMetadataStore.Prefix, StringComparison.Ordinal)).ToList();
        var appends = mine.Where(a => a.OperationName == "StorageBridge.Append").ToList();
        Assert.Equal(2, appends.Count);
        Assert.All(mine, a =>
        {
            Assert.Equal(TargetName, a.GetTagItem(EngineActivities.TargetTag));
            Assert.Equal("S3Like", a.GetTagItem(EngineActivities.BackendTag));
        });

        var part = Assert.Single(mine, a => a.OperationName == "StorageBridge.Backend.WritePart" && (int?)a.GetTagItem(EngineActivities.PartNumberTag) == 1);
        Assert.Equal((long)Part, part.GetTagItem(EngineActivities.BytesTag));
        Assert.Equal(ActivityKind.Client, part.Kind);
        Assert.Contains(appends, a => a.SpanId == part.ParentSpanId);

        var tail = Assert.Single(mine, a => a.OperationName == "StorageBridge.Backend.WriteTail");
        Assert.Equal(80_000L - Part, tail.GetTagItem(EngineActivities.BytesTag));
        Assert.Equal(appends[0].SpanId, tail.ParentSpanId);

        var completion = Assert.Single(mine, a => a.OperationName == "StorageBridge.Complete");
        var complete = Assert.Single(mine, a => a.OperationName == "StorageBridge.Backend.Complete");
        Assert.Equal(completion.SpanId, complete.ParentSpanId);
        Assert.Equal((long)source.Length, complete.GetTagItem(EngineActivities.BytesTag));
        Assert.Equal(appends[1].SpanId, completion.ParentSpanId);

        Assert.Contains(activities, a => a.OperationName == "StorageBridge.Cleanup" && a.GetTagItem(EngineActivities.HandledTag) is int);

        // The creation: the backend's Start and the store's Create below it.
        var create = Assert.Single(mine, a => a.OperationName == "StorageBridge.Create");
        Assert.Equal(create.SpanId, Assert.Single(mine, a => a.OperationName == "StorageBridge.Backend.Start").ParentSpanId);
        var stored = Assert.Single(activities, a => a.OperationName == "StorageBridge.Metadata.Create" && (string?)a.GetTagItem(EngineActivities.UploadIdTag) == upload.Id);
        Assert.Equal(ActivityKind.Client, stored.Kind);
        Assert.Equal(create.SpanId, stored.ParentSpanId);

        // One duration per backend call and per store call, none failed; the store calls of each append are its children.
        Assert.Equal(mine.Count(a => a.OperationName.StartsWith(EngineActivities.BackendPrefix, StringComparison.Ordinal)), measurements.Count(m => m.Instrument == "storagebridge.backend.call_duration"));
        // The listener sees every test's activities; the meter only this engine's calls.
        Assert.Equal(1, storeCalls.Count(op => op == "Create"));
        Assert.Equal(
            activities.Count(a => a.OperationName == "StorageBridge.Metadata.Replace" && (string?)a.GetTagItem(EngineActivities.UploadIdTag) == upload.Id),
            storeCalls.Count(op => op == "Replace"));
        Assert.DoesNotContain(measurements, m => m.Instrument is "storagebridge.backend.call_errors" or "storagebridge.metadata.call_errors");
        Assert.Contains(activities, a => a.OperationName == "StorageBridge.Metadata.Replace" && a.ParentSpanId == appends[0].SpanId);
        Assert.Equal(0, Sum("storagebridge.uploads_active"));
    }

    [Fact]
    public async Task A_failed_backend_call_counts_as_an_error_of_its_operation()
    {
        var upload = await h.CreateAsync(length: 1000, via: engine);
        h.Backend.FailNextCompletes = 1;
        await Assert.ThrowsAnyAsync<Exception>(() => h.AppendAsync(upload.Id, 0, Bytes(1000, seed: 5), complete: true, via: engine));

        // The injected failure is thrown before a task exists, so the call ends through its using: type unknown.
        var error = Assert.Single(errors);
        Assert.Equal(("Complete", "_OTHER"), error);
        var complete = Assert.Single(activities, a => a.OperationName == "StorageBridge.Backend.Complete" && (string?)a.GetTagItem(EngineActivities.UploadIdTag) == upload.Id);
        Assert.Equal(ActivityStatusCode.Error, complete.Status);
    }

    [Fact]
    public async Task A_cancel_shows_the_backend_abort()
    {
        var upload = await h.CreateAsync(length: 1000, via: engine);
        Assert.Equal(UploadOutcome.Success, (await engine.CancelAsync(TargetName, upload.Id, CancellationToken.None)).Outcome);

        var abort = Assert.Single(activities, a => a.OperationName == "StorageBridge.Backend.Abort" && (string?)a.GetTagItem(EngineActivities.UploadIdTag) == upload.Id);
        Assert.Equal(TargetName, abort.GetTagItem(EngineActivities.TargetTag));
        Assert.Equal(1, Sum("storagebridge.uploads_cancelled"));
    }

    [Fact]
    public async Task A_store_call_that_throws_at_once_ends_its_activity_and_counts_as_an_error()
    {
        var store = new InstrumentedMetadataStore(new ThrowingStore(), metrics);
        using var outer = new Activity("outer").Start();
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetAsync("not-an-id", CancellationToken.None));

        Assert.Same(outer, Activity.Current);
        var call = Assert.Single(activities, a => a.OperationName == "StorageBridge.Metadata.Get" && a.ParentSpanId == outer.SpanId);
        Assert.Equal(ActivityStatusCode.Error, call.Status);
        Assert.Equal(["Get"], storeCalls);
        Assert.Equal(1, Sum("storagebridge.metadata.call_errors"));
    }

    private double Sum(string instrument) => measurements.Where(m => m.Instrument == instrument).Sum(m => m.Value);

    private static string? TargetOf(ReadOnlySpan<KeyValuePair<string, object?>> tags) => TagOf(tags, "target");

    private static string? TagOf(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key)
            {
                return tag.Value as string;
            }
        }

        return null;
    }

    /// <summary>A store whose every call throws before it returns a task.</summary>
    private sealed class ThrowingStore : IUploadMetadataStore
    {
        public Task InitializeAsync(CancellationToken cancellationToken) => throw new InvalidOperationException();

        public Task<MetadataWriteResult> CreateAsync(UploadRecord record, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public Task<UploadRecord?> GetAsync(string id, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public Task<MetadataWriteResult> TryReplaceAsync(UploadRecord record, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public Task<MetadataWriteStatus> TryDeleteAsync(string id, string version, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public IAsyncEnumerable<UploadRecord> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public IAsyncEnumerable<UploadRecord> ListDueEventsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public Task<LookupWriteResult> TryAddLookupAsync(UploadLookup lookup, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public Task<UploadLookup?> GetLookupAsync(string key, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public Task<LookupWriteResult> TryReplaceLookupAsync(UploadLookup lookup, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public Task<MetadataWriteStatus> TryDeleteLookupAsync(string key, string version, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public Task<int> DeleteExpiredLookupsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) => throw new InvalidOperationException();
    }
}
