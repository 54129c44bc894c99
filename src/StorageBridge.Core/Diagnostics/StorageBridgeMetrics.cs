using System.Diagnostics.Metrics;

namespace StorageBridge.Diagnostics;

/// <summary>
/// The instruments of the upload engine, on the meter <see cref="StorageBridgeTelemetry.Name"/> created by the host's
/// <see cref="IMeterFactory"/> (so each service provider has its own, and tests can listen to one host alone).
/// <c>AddStorageBridge</c> registers it; an engine built without dependency injection uses <see cref="Default"/>.
/// </summary>
public sealed class StorageBridgeMetrics
{
    // Bucket bounds in seconds (an exporter's defaults are meant for milliseconds): 5 ms to 5 min.
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    };

    private static readonly Lazy<StorageBridgeMetrics> Shared = new(() => new StorageBridgeMetrics(new Meter(StorageBridgeTelemetry.Name)));

    public StorageBridgeMetrics(IMeterFactory meterFactory)
        : this(CreateMeter(meterFactory))
    {
    }

    private StorageBridgeMetrics(Meter meter)
    {
        Meter = meter;
        BytesAppended = meter.CreateCounter<long>("storagebridge.bytes_appended", "By", "Bytes made durable by appends");
        UploadsCreated = meter.CreateCounter<long>("storagebridge.uploads_created", "{upload}");
        UploadsCompleted = meter.CreateCounter<long>("storagebridge.uploads_completed", "{upload}");
        UploadsExpired = meter.CreateCounter<long>("storagebridge.uploads_expired", "{upload}");
        UploadsCancelled = meter.CreateCounter<long>("storagebridge.uploads_cancelled", "{upload}");
        UploadsActive = meter.CreateUpDownCounter<long>("storagebridge.uploads_active", "{upload}", "Uploads with an append running in this instance");
        BackendCallDuration = meter.CreateHistogram<double>("storagebridge.backend.call_duration", "s", "Calls into a target's backend or tail store, failed ones included", advice: Seconds);
        BackendCallErrors = meter.CreateCounter<long>("storagebridge.backend.call_errors", "{call}", "Backend calls that failed, by error.type");
        MetadataCallDuration = meter.CreateHistogram<double>("storagebridge.metadata.call_duration", "s", "Calls of the engine into the metadata store, failed ones included", advice: Seconds);
        MetadataCallErrors = meter.CreateCounter<long>("storagebridge.metadata.call_errors", "{call}", "Metadata store calls that failed, by error.type");
        TailCacheReads = meter.CreateCounter<long>("storagebridge.tail_cache.reads", "{object}", "Tail objects joined into a part, by whether memory held them (hit) or the store was read");
        AppendDuration = meter.CreateHistogram<double>("storagebridge.append_duration", "s", advice: Seconds);
    }

    /// <summary>The meter the instruments belong to.</summary>
    public Meter Meter { get; }

    /// <summary>Metrics of engines built without dependency injection (tests, benchmarks): one process-wide meter.</summary>
    internal static StorageBridgeMetrics Default => Shared.Value;

    internal Counter<long> BytesAppended { get; }

    internal Counter<long> UploadsCreated { get; }

    internal Counter<long> UploadsCompleted { get; }

    internal Counter<long> UploadsExpired { get; }

    internal Counter<long> UploadsCancelled { get; }

    internal UpDownCounter<long> UploadsActive { get; }

    internal Histogram<double> BackendCallDuration { get; }

    internal Counter<long> BackendCallErrors { get; }

    internal Histogram<double> MetadataCallDuration { get; }

    internal Counter<long> MetadataCallErrors { get; }

    internal Counter<long> TailCacheReads { get; }

    internal Histogram<double> AppendDuration { get; }

    private static Meter CreateMeter(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        return meterFactory.Create(new MeterOptions(StorageBridgeTelemetry.Name));
    }
}
