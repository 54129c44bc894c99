using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// The expiry scan: due uploads become expired tombstones and lose their stored bytes, interrupted completions are
/// finished, and tombstones past their retention (and expired lookups of the store's index) are forgotten.
/// </summary>
internal sealed class ExpirySweeper(EngineContext engine, UploadLeases leases, UploadCompletion completion)
{
    /// <summary>Expires due uploads and forgets old tombstones. Returns how many records were handled.</summary>
    public async Task<int> CleanupExpiredAsync(CancellationToken cancellationToken)
    {
        using var activity = StorageBridgeTelemetry.ActivitySource.StartActivity("StorageBridge.Cleanup");
        var handled = 0;
        await foreach (var record in engine.Store.ListExpiredAsync(engine.Now, 100, cancellationToken).ConfigureAwait(false))
        {
            var target = engine.Targets.Find(record.Target);
            try
            {
                if (record.State == UploadState.Completing)
                {
                    // The backend commit may already have happened: finish it (idempotent) rather than abort.
                    if (!leases.HeldByOther(record))
                    {
                        await completion.FinishAsync(record, cancellationToken).ConfigureAwait(false);
                    }
                }
                else if (record.IsActive)
                {
                    if (leases.HeldByOther(record))
                    {
                        continue;
                    }

                    var written = await engine.Store.TryReplaceAsync(engine.Tombstone(record, UploadState.Expired), cancellationToken).ConfigureAwait(false);
                    if (written.Status != MetadataWriteStatus.Success)
                    {
                        continue;
                    }

                    await leases.EndActiveAsync(record.Id, cancellationToken).ConfigureAwait(false);
                    if (target is not null)
                    {
                        await engine.AbortAsync(target, written.Record!, cancellationToken).ConfigureAwait(false);
                    }

                    engine.Metrics.UploadsExpired.Add(1, new KeyValuePair<string, object?>("target", record.Target));
                    EngineLog.UploadExpired(engine.Logger, record.Id);
                }
                else if (record.State is UploadState.Cancelled or UploadState.Expired && record.EventsDueAt is not null)
                {
                    // A completed upload cancelled before its completion event went out: keep the tombstone (and the
                    // outbox in it) for another retention period rather than lose the event.
                    await engine.Store.TryReplaceAsync(record with { ExpiresAt = engine.Now + engine.Options.TombstoneRetention }, cancellationToken).ConfigureAwait(false);
                }
                else if (record.State is UploadState.Cancelled or UploadState.Expired)
                {
                    // Abort again before forgetting: it is idempotent and catches a failed abort at cancel time.
                    if (target is not null)
                    {
                        await engine.AbortAsync(target, record, cancellationToken).ConfigureAwait(false);
                    }

                    await engine.Store.TryDeleteAsync(record.Id, record.Version, cancellationToken).ConfigureAwait(false);
                }

                handled++;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                EngineLog.CleanupFailed(engine.Logger, record.Id, ex);
            }
        }

        activity?.SetTag(EngineActivities.HandledTag, handled);
        return handled;
    }

    /// <summary>Forgets lookups past their expiry; returns how many.</summary>
    public async Task<int> SweepExpiredLookupsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await engine.Store.DeleteExpiredLookupsAsync(engine.Now, 100, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Nothing depends on it: an expired lookup whose upload is gone is replaced by its next user anyway.
            EngineLog.CleanupFailed(engine.Logger, "expired lookups", ex);
            return 0;
        }
    }
}
