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

    /// <summary>
    /// A call into the target's backend or tail store: the activity <c>StorageBridge.Backend.{operation}</c> and the
    /// backend-call instruments. Null (nothing built, not even the name) when neither has a listener; end it with
    /// <see cref="Track(BackendCall?, Task)"/> or <see cref="EndWith"/>.
    /// </summary>
    public static BackendCall? StartBackendCall(StorageBridgeMetrics metrics, string operation, UploadTarget target, string uploadId, int? partNumber = null, long? bytes = null, int? tailSequence = null)
    {
        var traced = StorageBridgeTelemetry.ActivitySource.HasListeners();
        if (!traced && !metrics.BackendCallDuration.Enabled && !metrics.BackendCallErrors.Enabled)
        {
            return null;
        }

        var activity = traced ? Start(BackendPrefix + operation, uploadId, target, ActivityKind.Client) : null;
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

        return new BackendCall(metrics, operation, target, activity);
    }

    /// <summary>
    /// Ends <paramref name="call"/> when <paramref name="task"/> ends. The caller's current activity is restored at
    /// once (this runs synchronously in the caller, so the restore reaches it), and the task is returned as it is when
    /// nothing listens.
    /// </summary>
    public static Task Track(BackendCall? call, Task task)
    {
        if (call is null)
        {
            return task;
        }

        call.Detach();
        return call.EndAsync(task);
    }

    /// <inheritdoc cref="Track(BackendCall?, Task)"/>
    public static Task<T> Track<T>(BackendCall? call, Task<T> task)
    {
        if (call is null)
        {
            return task;
        }

        call.Detach();
        return call.EndAsync(task);
    }

    /// <summary>
    /// For a call that runs on while the caller goes on (parts in flight): the caller's current activity is restored
    /// now, and <paramref name="call"/> ends when <paramref name="task"/> ends (marked as an error if it failed).
    /// </summary>
    public static void EndWith(BackendCall? call, Task task)
    {
        if (call is null)
        {
            return;
        }

        call.Detach();
        task.ContinueWith(
            static (ended, state) => ((BackendCall)state!).End(ended.Exception?.InnerException),
            call,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}
