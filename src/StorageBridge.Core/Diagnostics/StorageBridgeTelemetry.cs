using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace StorageBridge.Diagnostics;

/// <summary>The one ActivitySource and Meter of StorageBridge (name "StorageBridge").</summary>
public static class StorageBridgeTelemetry
{
    public const string Name = "StorageBridge";

    public static readonly ActivitySource ActivitySource = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> BytesAppended = Meter.CreateCounter<long>("storagebridge.bytes_appended", "By", "Bytes made durable by appends");
    public static readonly Counter<long> UploadsCreated = Meter.CreateCounter<long>("storagebridge.uploads_created", "{upload}");
    public static readonly Counter<long> UploadsCompleted = Meter.CreateCounter<long>("storagebridge.uploads_completed", "{upload}");
    public static readonly Counter<long> UploadsExpired = Meter.CreateCounter<long>("storagebridge.uploads_expired", "{upload}");
    public static readonly Counter<long> TailCacheReads = Meter.CreateCounter<long>("storagebridge.tail_cache.reads", "{object}", "Tail objects joined into a part, by whether memory held them (hit) or the store was read");
    public static readonly Histogram<double> AppendDuration = Meter.CreateHistogram<double>("storagebridge.append_duration", "s");
}
