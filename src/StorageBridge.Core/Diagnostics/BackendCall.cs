using System.Diagnostics;
using StorageBridge.Backends;
using StorageBridge.Targets;

namespace StorageBridge.Diagnostics;

/// <summary>
/// One backend call being measured: its activity (when traces are listened to) and its start for
/// <c>storagebridge.backend.call_duration</c>; failures count in <c>storagebridge.backend.call_errors</c>. Built
/// only when something listens (<see cref="EngineActivities.StartBackendCall"/>).
/// </summary>
internal sealed class BackendCall(StorageBridgeMetrics metrics, string operation, UploadTarget target, Activity? activity) : IDisposable
{
    /// <summary>OpenTelemetry's error type for a failure whose exception is not known here.</summary>
    private const string UnknownError = "_OTHER";

    private readonly long _started = Stopwatch.GetTimestamp();
    private int _ended;

    /// <summary>
    /// For <c>using</c>: a call that threw before it returned a task never reached <see cref="EngineActivities.Track(BackendCall?, Task)"/>;
    /// it ends here, as a failure, and the caller's activity is restored. A call that was tracked ended already.
    /// </summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _ended) == 0)
        {
            EndAs(UnknownError);
        }
    }

    /// <summary>The caller goes on without this activity as its current one (see <see cref="EngineActivities.Track(BackendCall?, Task)"/>).</summary>
    public void Detach()
    {
        if (activity is not null)
        {
            Activity.Current = activity.Parent;
        }
    }

    public async Task EndAsync(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception failure)
        {
            End(failure);
            throw;
        }

        End(null);
    }

    public async Task<T> EndAsync<T>(Task<T> task)
    {
        T result;
        try
        {
            result = await task.ConfigureAwait(false);
        }
        catch (Exception failure)
        {
            End(failure);
            throw;
        }

        End(null);
        return result;
    }

    public void End(Exception? failure) => EndAs(failure is null ? null : ErrorType(failure));

    private void EndAs(string? errorType)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        var tags = new TagList
        {
            { "target", target.Name },
            { "backend", target.Options.Backend },
            { "operation", operation },
        };
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
            metrics.BackendCallErrors.Add(1, tags);
            activity?.SetStatus(ActivityStatusCode.Error, errorType);
        }

        metrics.BackendCallDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, tags);
        activity?.Stop();
    }

    /// <summary>A short, bounded name for a failure: transient or permanent for classified ones, else the type.</summary>
    internal static string ErrorType(Exception failure) => failure switch
    {
        StorageBackendException { IsTransient: true } => "transient",
        StorageBackendException => "permanent",
        OperationCanceledException => "cancelled",
        _ => failure.GetType().Name,
    };
}
