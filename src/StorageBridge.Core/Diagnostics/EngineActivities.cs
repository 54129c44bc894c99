using System.Diagnostics;
using StorageBridge.Targets;

namespace StorageBridge.Diagnostics;

/// <summary>
/// Activities of the engine on <see cref="StorageBridgeTelemetry.ActivitySource"/>: appends, completions, cleanup
/// rounds and each backend call (<c>StorageBridge.Backend.{operation}</c>), tagged with the upload, its target and
/// backend, and the part and byte count where there is one. All of it is free when nothing listens.
/// </summary>
internal static class EngineActivities
{
    public const string UploadIdTag = "storagebridge.upload_id";
    public const string TargetTag = "storagebridge.target";
    public const string BackendTag = "storagebridge.backend";
    public const string PartNumberTag = "storagebridge.part_number";
    public const string TailSequenceTag = "storagebridge.tail_sequence";
    public const string BytesTag = "storagebridge.bytes";
    public const string HandledTag = "storagebridge.handled";

    public const string BackendPrefix = "StorageBridge.Backend.";

    public static Activity? Start(string name, string uploadId, UploadTarget? target, ActivityKind kind = ActivityKind.Internal)
    {
        var activity = StorageBridgeTelemetry.ActivitySource.StartActivity(name, kind);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(UploadIdTag, uploadId);
            if (target is not null)
            {
                activity.SetTag(TargetTag, target.Name);
                activity.SetTag(BackendTag, target.Options.Backend);
            }
        }

        return activity;
    }

    /// <summary>A call into the target's backend or tail store: <c>StorageBridge.Backend.{operation}</c>.</summary>
    public static Activity? StartBackendCall(string operation, UploadTarget target, string uploadId, int? partNumber = null, long? bytes = null, int? tailSequence = null)
    {
        // Checked first so a backend call without listeners does not even build the activity's name.
        if (!StorageBridgeTelemetry.ActivitySource.HasListeners())
        {
            return null;
        }

        var activity = Start(BackendPrefix + operation, uploadId, target, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            if (partNumber is { } part)
            {
                activity.SetTag(PartNumberTag, part);
            }

            if (tailSequence is { } sequence)
            {
                activity.SetTag(TailSequenceTag, sequence);
            }

            if (bytes is { } count)
            {
                activity.SetTag(BytesTag, count);
            }
        }

        return activity;
    }

    /// <summary>
    /// For a call that runs on while the caller goes on (parts in flight): the caller's current activity is restored
    /// now, and <paramref name="activity"/> stops when <paramref name="call"/> ends (marked as an error if it failed).
    /// </summary>
    public static void EndWith(Activity? activity, Task call)
    {
        if (activity is null)
        {
            return;
        }

        Activity.Current = activity.Parent;
        call.ContinueWith(
            static (task, state) =>
            {
                var ended = (Activity)state!;
                if (task.IsFaulted)
                {
                    ended.SetStatus(ActivityStatusCode.Error, task.Exception?.InnerException?.GetType().Name);
                }

                ended.Stop();
            },
            activity,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}
