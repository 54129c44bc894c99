using StorageBridge.Backends;
using StorageBridge.Diagnostics;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// Native sessions that can disagree with the record (GCS resumable sessions): reconciliation after a crash and the
/// handling of a session that is gone.
/// </summary>
/// <remarks>
/// A session may hold bytes beyond the record: a chunk GCS confirmed whose record write never happened. They are not
/// adopted: the record's offset stays what was acknowledged, the client re-sends from there and GCS ignores the bytes
/// it already holds. Adopting would need those bytes for the running SHA-256 (Repr-Digest), and an unfinished session
/// cannot be read back; re-sending costs at most one commit interval of bytes and never loses or duplicates any.
/// </remarks>
public sealed partial class UploadCoordinator
{
    /// <summary>
    /// A record that still carries a lease when an append starts was left by an append that never finished (a crash,
    /// or an instance that went silent): ask a reconciling backend what its session holds before writing to it.
    /// Returns the result to answer with when the upload cannot go on, else null.
    /// </summary>
    private async Task<AppendResult?> ReconcileUnreleasedAsync(UploadTarget target, UploadRecord loaded, CancellationToken cancellationToken)
    {
        if (loaded.LeaseOwner is null || loaded.Session is null || target.Backend is not ISessionReconcilingBackend reconciling)
        {
            return null;
        }

        var check = await reconciling.CheckSessionAsync(loaded, cancellationToken).ConfigureAwait(false);
        EngineLog.SessionReconciled(_logger, loaded.Id, check, loaded.Offset);
        return check == SessionCheck.Gone ? await ExpireLostSessionAsync(target, loaded.Id, cancellationToken).ConfigureAwait(false) : null;
    }

    /// <summary>The backend's session is gone: the upload becomes an expired tombstone (410) and its staged bytes are dropped.</summary>
    private async Task<AppendResult> ExpireLostSessionAsync(UploadTarget target, string id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var current = await _store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return new AppendResult(UploadOutcome.NotFound, null);
            }

            if (!current.IsActive)
            {
                return new AppendResult(current.State == UploadState.Completed ? UploadOutcome.AlreadyCompleted : UploadOutcome.Gone, current);
            }

            var written = await _store.TryReplaceAsync(Tombstone(current, UploadState.Expired), cancellationToken).ConfigureAwait(false);
            if (written.Status == Metadata.MetadataWriteStatus.Success)
            {
                EngineLog.SessionGone(_logger, id);
                await AbortAsync(target, written.Record!, cancellationToken).ConfigureAwait(false);
                return new AppendResult(UploadOutcome.Gone, written.Record);
            }
        }
    }
}
