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
}
