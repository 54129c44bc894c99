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

        // Whose it is, before taking over: another owner's request must not end (or learn of) a running append. With
        // none running here, the load after the lease decides (one store read fewer per append).
        if (leases.IsActiveHere(request.Id)
            && await engine.LoadForAsync(request.Target, request.Id, request.Owner, cancellationToken).ConfigureAwait(false) is null)
        {
            return new AppendResult(UploadOutcome.NotFound, null);
        }

        // A client that is gone still has its received bytes stored (its FIN may arrive with the last of them), so
        // the steps before reading the body stop only for a takeover (which spares a request whose client is gone),
        // not for the request's abort.
        using var operation = await leases.BeginAppendAsync(request.Id, cancellationToken).ConfigureAwait(false);
        if (operation is null)
        {
            return new AppendResult(UploadOutcome.Conflict, null);
        }

        var takeover = operation.TakeoverToken;
        UploadRecord? record;
        (UploadRecord? Record, UploadOutcome Outcome, UploadRecord? Current) leased;
        try
        {
            record = await engine.LoadAsync(request.Target, request.Id, takeover).ConfigureAwait(false);
            if (record is null || !EngineContext.MayAccess(record, request.Owner))
            {
                return new AppendResult(UploadOutcome.NotFound, null);
            }

            if (record.State == UploadState.Completing && !leases.HeldByOther(record))
            {
                record = await completion.FinishAsync(record, takeover).ConfigureAwait(false) ?? record;
            }

            var rejection = admission.CheckAppend(target, record, request, options);
            if (rejection is not null)
            {
                return rejection.Outcome == UploadOutcome.LengthMismatch && request.InvalidatesPastLength && UploadAdmission.PassesKnownLength(record, request)
                    ? await completion.InvalidateAsync(target, record, takeover).ConfigureAwait(false)
                    : rejection;
            }

            leased = await leases.AcquireAsync(record, request, options.YieldToOtherInstance, takeover).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (operation.IsTakenOver)
        {
            // Superseded before a byte was read: nothing was written.
            return await SupersededAsync(request.Id).ConfigureAwait(false);
        }

        if (leased.Record is null)
        {
            return new AppendResult(leased.Outcome, leased.Current);
        }

        try
        {
            if (await completion.ReconcileUnreleasedAsync(target, record, takeover).ConfigureAwait(false) is { } unusable)
            {
                return unusable;
            }
        }
        catch (OperationCanceledException) when (operation.IsTakenOver)
        {
            return await SupersededAsync(request.Id).ConfigureAwait(false);
        }

        using var activity = EngineActivities.Start("StorageBridge.Append", record.Id, target);
        var started = engine.Time.GetTimestamp();
        var append = new AppendOperation(engine, leases, completion, target, leased.Record, request);
        var active = new KeyValuePair<string, object?>("target", target.Name);
        engine.Metrics.UploadsActive.Add(1, active);
        try
        {
            var result = await append.RunAsync(body, takeover, cancellationToken, engine.Options.TakeoverWait).ConfigureAwait(false);
            engine.Metrics.AppendDuration.Record(engine.Time.GetElapsedTime(started).TotalSeconds);
            // A request a newer one superseded before all of its body was stored never succeeds: it answers a conflict
            // with the offset its stored prefix reached (its client may still be listening).
            return result.Outcome == UploadOutcome.Interrupted && operation.IsTakenOver
                ? new AppendResult(UploadOutcome.Conflict, result.Upload)
                : result;
        }
        catch (UploadSessionGoneException)
        {
            return await completion.ExpireLostSessionAsync(target, request.Id, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectExistsException)
        {
            // A backend whose last part write is the commit (GCS's final chunk): what was recorded is kept.
            return new AppendResult(UploadOutcome.ObjectExists, await engine.Store.GetAsync(request.Id, CancellationToken.None).ConfigureAwait(false));
        }
        finally
        {
            engine.Metrics.UploadsActive.Add(-1, active);
            append.Dispose();
        }
    }

    /// <summary>The answer to a request a newer one took over before it stored anything: a conflict at the current offset.</summary>
    private async Task<AppendResult> SupersededAsync(string id)
    {
        using var timeout = new CancellationTokenSource(EngineContext.SalvageTimeout);
        return new AppendResult(UploadOutcome.Conflict, await engine.Store.GetAsync(id, timeout.Token).ConfigureAwait(false));
    }
}
