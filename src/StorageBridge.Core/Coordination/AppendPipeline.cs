using StorageBridge.Backends;
using StorageBridge.Diagnostics;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// The path of one append: admission, the lease, recovery of what an unfinished append left, then the
/// <see cref="AppendOperation"/> that streams the body into parts and tails and commits them.
/// </summary>
internal sealed class AppendPipeline(EngineContext engine, UploadAdmission admission, UploadLeases leases, UploadCompletion completion)
{
    /// <summary>
    /// Appends a request body (see <see cref="UploadCoordinator.AppendAsync(AppendRequest, Stream, CancellationToken)"/>).
    /// <paramref name="options"/> are <see cref="UploadAssembler"/>'s; every other caller passes the default.
    /// </summary>
    public async Task<AppendResult> AppendAsync(AppendRequest request, Stream body, AppendOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(body);
        var target = engine.Targets.Find(request.Target);
        if (target is null || !UploadIds.IsWellFormed(request.Id))
        {
            return new AppendResult(target is null ? UploadOutcome.TargetNotFound : UploadOutcome.NotFound, null);
        }

        using var operation = await leases.BeginAsync(request.Id, cancellationToken).ConfigureAwait(false);
        if (operation is null)
        {
            return new AppendResult(UploadOutcome.Conflict, null);
        }

        var record = await engine.LoadAsync(request.Target, request.Id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return new AppendResult(UploadOutcome.NotFound, null);
        }

        if (record.State == UploadState.Completing && !leases.HeldByOther(record))
        {
            record = await completion.FinishAsync(record, cancellationToken).ConfigureAwait(false) ?? record;
        }

        var rejection = admission.CheckAppend(target, record, request, options);
        if (rejection is not null)
        {
            return rejection.Outcome == UploadOutcome.LengthMismatch && request.InvalidatesPastLength && UploadAdmission.PassesKnownLength(record, request)
                ? await completion.InvalidateAsync(target, record, cancellationToken).ConfigureAwait(false)
                : rejection;
        }

        (UploadRecord? Record, UploadOutcome Outcome, UploadRecord? Current) leased;
        try
        {
            leased = await leases.AcquireAsync(record, request, options.YieldToOtherInstance, operation.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (operation.Token.IsCancellationRequested)
        {
            // Taken over (or the client left) while waiting for another instance's lease: nothing was written.
            return new AppendResult(UploadOutcome.Interrupted, record);
        }

        if (leased.Record is null)
        {
            return new AppendResult(leased.Outcome, leased.Current);
        }

        if (await completion.ReconcileUnreleasedAsync(target, record, operation.Token).ConfigureAwait(false) is { } unusable)
        {
            return unusable;
        }

        using var activity = EngineActivities.Start("StorageBridge.Append", record.Id, target);
        var started = engine.Time.GetTimestamp();
        var append = new AppendOperation(engine, leases, completion, target, leased.Record, request);
        try
        {
            var result = await append.RunAsync(body, operation.Token).ConfigureAwait(false);
            engine.Metrics.AppendDuration.Record(engine.Time.GetElapsedTime(started).TotalSeconds);
            return result;
        }
        catch (UploadSessionGoneException)
        {
            return await completion.ExpireLostSessionAsync(target, request.Id, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectExistsException)
        {
            // A backend whose last part write is the commit (GCS's final chunk): what was recorded is kept.
            return new AppendResult(UploadOutcome.ObjectExists, await engine.Store.GetAsync(request.Id, cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            append.Dispose();
        }
    }
}
