using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace StorageBridge.Diagnostics;

/// <summary>
/// Names of StorageBridge's telemetry: subscribe with <c>AddSource(StorageBridgeTelemetry.Name)</c> and
/// <c>AddMeter(StorageBridgeTelemetry.Name)</c>. The meter itself comes from the host's <see cref="IMeterFactory"/>
/// (see <see cref="StorageBridgeMetrics"/>).
/// </summary>
public static class StorageBridgeTelemetry
{
    public const string Name = "StorageBridge";

    internal static readonly ActivitySource ActivitySource = new(Name);

    // The numbered-chunk path (UploadCoordinator.Chunks*.cs) still records through these until it moves next to its
    // front-end; they point at the shared meter of engines built without dependency injection.
    internal static Counter<long> BytesAppended => StorageBridgeMetrics.Default.BytesAppended;

    internal static Counter<long> UploadsCompleted => StorageBridgeMetrics.Default.UploadsCompleted;
}
