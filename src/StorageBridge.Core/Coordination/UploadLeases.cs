using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// Who may write an upload. Within this process, the newest request for an upload takes over from the one in flight
/// (<see cref="UploadActivityRegistry"/>); between instances, a lease in the record, claimed, renewed and checked by
/// the store's compare-and-swap.
/// </summary>
internal sealed class UploadLeases(EngineContext engine)
{
    private readonly UploadActivityRegistry _activity = new();

    /// <summary>Registers an exclusive operation on the upload, taking over from this process's request in flight. Null when that one would not let go.</summary>
    public Task<UploadActivityRegistry.ActiveOperation?> BeginAsync(string uploadId, CancellationToken cancellationToken) =>
        _activity.BeginAsync(uploadId, engine.Options.TakeoverWait, cancellationToken);

    /// <summary>As <see cref="BeginAsync(string, CancellationToken)"/> for an append whose client may leave (<paramref name="requestAborted"/>).</summary>
    public Task<UploadActivityRegistry.ActiveOperation?> BeginAppendAsync(string uploadId, CancellationToken requestAborted) =>
        _activity.BeginAsync(uploadId, engine.Options.TakeoverWait, CancellationToken.None, requestAborted);

    /// <summary>Ends this process's operation in flight on the upload, if any, waiting for it to store what it received.</summary>
    public Task EndAllActiveAsync(CancellationToken cancellationToken) => _activity.EndAllAsync(cancellationToken);

    /// <summary>Whether a request of this process is working on the upload now (one a new request would end).</summary>
    public bool IsActiveHere(string uploadId) => _activity.IsActive(uploadId);

    public Task<bool> EndActiveAsync(string uploadId, CancellationToken cancellationToken) =>
        _activity.EndActiveAsync(uploadId, engine.Options.TakeoverWait, cancellationToken);

    public bool HeldByOther(UploadRecord record) =>
        record.LeaseOwner is { } owner && owner != engine.Options.InstanceId && record.LeaseUntil > engine.Now;

    /// <summary>
    /// Claims the upload for this instance. A lease held by another instance is taken over by writing ourselves in,
    /// then waiting until the old lease lapses: the old holder cannot renew (its compare-and-swap fails) and never
    /// starts a backend write in the last half of its lease, so the two never write at once.
    /// </summary>
    public async Task<(UploadRecord? Record, UploadOutcome Outcome, UploadRecord? Current)> AcquireAsync(
        UploadRecord record, AppendRequest request, bool yieldToOtherInstance, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (yieldToOtherInstance && HeldByOther(record))
            {
                return (null, UploadOutcome.Conflict, record);
            }

            // Writes may start once the foreign lease lapsed. A claim still waiting for that (LeaseFrom) binds whoever
            // takes over from it too, including a newer request in this process.
            var foreignUntil = HeldByOther(record) ? record.LeaseUntil : null;
            var writableFrom = new[] { foreignUntil, record.LeaseFrom }.Where(t => t > engine.Now).Max();
            var claimed = record with
            {
                Length = request.DeclaredLength ?? record.Length,
                LeaseOwner = engine.Options.InstanceId,
                LeaseUntil = Max(engine.Now, writableFrom ?? engine.Now) + engine.Options.LeaseDuration,
                LeaseFrom = writableFrom,
                UpdatedAt = engine.Now,
            };
            var written = await engine.Store.TryReplaceAsync(claimed, cancellationToken).ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                if (writableFrom is { } until)
                {
                    EngineLog.WaitingForLease(engine.Logger, record.Id, record.LeaseOwner ?? "", until);
                    await Task.Delay(until - engine.Now, engine.Time, cancellationToken).ConfigureAwait(false);
                }

                return (written.Record, UploadOutcome.Success, null);
            }

            var current = await engine.Store.GetAsync(record.Id, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return (null, UploadOutcome.NotFound, null);
            }

            if (current.State != UploadState.Open || current.Offset != request.Offset)
            {
                var outcome = current.State switch
                {
                    UploadState.Completed => UploadOutcome.AlreadyCompleted,
                    UploadState.Cancelled or UploadState.Expired => UploadOutcome.Gone,
                    UploadState.Completing => UploadOutcome.Conflict,
                    _ => UploadOutcome.OffsetMismatch,
                };
                return (null, outcome, current);
            }

            record = current;
        }
    }

    /// <summary>Whether the lease must be renewed before a backend write: never start one in the last half of the lease.</summary>
    public bool NeedsRenewal(UploadRecord record) =>
        !(record.LeaseUntil is { } until && until - engine.Now > engine.Options.LeaseDuration / 2);

    /// <summary>Extends this instance's lease; null when the compare-and-swap failed (see <see cref="RefreshOrThrowAsync"/>).</summary>
    public async Task<UploadRecord?> TryRenewAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        var renewed = record with { LeaseOwner = engine.Options.InstanceId, LeaseUntil = engine.Now + engine.Options.LeaseDuration };
        var written = await engine.Store.TryReplaceAsync(renewed, cancellationToken).ConfigureAwait(false);
        return written.Status == MetadataWriteStatus.Success ? written.Record! : null;
    }

    /// <summary>
    /// After a failed compare-and-swap: the current record when the upload is still ours and unchanged; otherwise
    /// another writer took over and <see cref="LeaseLostException"/> stops the append.
    /// </summary>
    public async Task<UploadRecord> RefreshOrThrowAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        var current = await engine.Store.GetAsync(record.Id, cancellationToken).ConfigureAwait(false);
        if (current is null || current.State != UploadState.Open || current.Offset != record.Offset
            || current.LeaseOwner != engine.Options.InstanceId)
        {
            throw new LeaseLostException();
        }

        return current;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}

/// <summary>Another writer took over the upload: the append stops where it is.</summary>
internal sealed class LeaseLostException : Exception
{
    public LeaseLostException()
        : base("Another writer took over the upload.")
    {
    }
}
