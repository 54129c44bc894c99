using System.Security.Cryptography;
using StorageBridge.Backends;
using StorageBridge.Diagnostics;
using StorageBridge.Events;
using StorageBridge.Hashing;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// Completion and recovery: the backend commit and the completed record, the whole-upload digest check, finishing a
/// completion a crash interrupted, and native sessions that can disagree with the record (GCS resumable sessions).
/// </summary>
/// <remarks>
/// A session may hold bytes beyond the record: a chunk GCS confirmed whose record write never happened. They are not
/// adopted: the record's offset stays what was acknowledged, the client re-sends from there and GCS ignores the bytes
/// it already holds. Adopting would need those bytes for the running SHA-256 (Repr-Digest), and an unfinished session
/// cannot be read back; re-sending costs at most one commit interval of bytes and never loses or duplicates any.
/// </remarks>
internal sealed class UploadCompletion(EngineContext engine)
{
    /// <summary>
    /// Commits the object of a record this append just marked Completing and records it. Another object under the
    /// key (overwriting off) reopens the upload: nothing was replaced and every byte is still staged. A failed record
    /// write means another writer took over: <see cref="LeaseLostException"/>, as for the append's other commits.
    /// </summary>
    public async Task<AppendResult> CommitObjectAsync(UploadTarget target, UploadRecord completing, CancellationToken cancellationToken)
    {
        using var activity = EngineActivities.Start("StorageBridge.Complete", completing.Id, target);
        StoredObject stored;
        try
        {
            using var call = EngineActivities.StartBackendCall(engine.Metrics, "Complete", target, completing.Id, bytes: completing.Offset);
            stored = await EngineActivities.Track(call, target.Backend.CompleteAsync(BackendUpload.From(completing), cancellationToken)).ConfigureAwait(false);
        }
        catch (ObjectExistsException)
        {
            // Nothing was replaced and every byte is still staged: reopen so the upload is not stuck in Completing.
            var reopened = await ReopenAsync(completing, cancellationToken).ConfigureAwait(false);
            return new AppendResult(UploadOutcome.ObjectExists, reopened.Record ?? completing);
        }

        var written = await engine.Store.TryReplaceAsync(CompletedRecord(completing, stored), cancellationToken).ConfigureAwait(false);
        if (written.Status != MetadataWriteStatus.Success)
        {
            throw new LeaseLostException();
        }

        engine.OnCompletionWritten(written.Record);
        return new AppendResult(UploadOutcome.Success, written.Record);
    }

    /// <summary>Finishes a completion interrupted between the backend commit and the metadata write (idempotent commit).</summary>
    public async Task<UploadRecord?> FinishAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        var target = engine.Targets.Find(record.Target);
        if (target is null)
        {
            return null;
        }

        using var activity = EngineActivities.Start("StorageBridge.Complete", record.Id, target);
        StoredObject stored;
        try
        {
            using var call = EngineActivities.StartBackendCall(engine.Metrics, "Complete", target, record.Id, bytes: record.Offset);
            stored = await EngineActivities.Track(call, target.Backend.CompleteAsync(BackendUpload.From(record), cancellationToken)).ConfigureAwait(false);
        }
        catch (ObjectExistsException)
        {
            var reopened = await ReopenAsync(record, cancellationToken).ConfigureAwait(false);
            return reopened.Record;
        }
        catch (UploadSessionGoneException)
        {
            return (await ExpireLostSessionAsync(target, record.Id, cancellationToken).ConfigureAwait(false)).Upload;
        }

        var completed = CompletedRecord(record, stored);
        var written = await engine.Store.TryReplaceAsync(completed, cancellationToken).ConfigureAwait(false);
        if (written.Status == MetadataWriteStatus.Success)
        {
            engine.OnCompletionWritten(written.Record);

            // The interrupted completion may have left tail objects behind it (folded into parts, not yet deleted).
            try
            {
                await target.Tails.DeleteAllAsync(record.Id, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                EngineLog.CleanupFailed(engine.Logger, record.Id, ex);
            }
        }

        return written.Record;
    }

    /// <summary>The record completed with <paramref name="stored"/>, carrying its completion event when sinks are configured.</summary>
    public UploadRecord CompletedRecord(UploadRecord record, StoredObject stored) => CompletionEvents.WithOutbox(record with
    {
        State = UploadState.Completed,
        StoredObject = stored,
        Length = record.Offset,
        Tail = null,
        ExpiresAt = null,
        LeaseOwner = null,
        LeaseUntil = null,
        UpdatedAt = engine.Now,
        Sha256 = record.HashState is { } state ? Convert.ToBase64String(ResumableSha256.Import(state).GetCurrentHash()) : null,
    }, stored, engine.Targets.Find(record.Target), engine.Options.EventSinks);

    /// <summary>Counts and logs a completed upload.</summary>
    public void ReportCompleted(string target, UploadRecord completed)
    {
        engine.Metrics.UploadsCompleted.Add(1, new KeyValuePair<string, object?>("target", target));
        EngineLog.UploadCompleted(engine.Logger, completed.Id, completed.Offset, completed.ObjectKey);
    }

    /// <summary>Whether the running SHA-256 matches the whole-upload digest the upload was created with (Repr-Digest), if any.</summary>
    public static bool ReprDigestMatches(UploadRecord record, ResumableSha256? sha)
    {
        if (record.ExpectedDigest is not { } expected || sha is null)
        {
            return true;
        }

        return record.ExpectedDigestAlgorithm != DigestValue.Sha256
            || CryptographicOperations.FixedTimeEquals(sha.GetCurrentHash(), Convert.FromBase64String(expected));
    }

    /// <summary>
    /// After a whole-upload digest mismatch: the upload is cancelled and every stored byte dropped. Returns the
    /// tombstone, or the record as given when another writer changed it first.
    /// </summary>
    public async Task<UploadRecord> CancelMismatchedAsync(UploadTarget target, UploadRecord record, CancellationToken cancellationToken)
    {
        var written = await engine.Store.TryReplaceAsync(engine.Tombstone(record, UploadState.Cancelled), cancellationToken).ConfigureAwait(false);
        if (written.Status != MetadataWriteStatus.Success)
        {
            return record;
        }

        await engine.AbortAsync(target, written.Record!, cancellationToken).ConfigureAwait(false);
        engine.Metrics.UploadsCancelled.Add(1, new KeyValuePair<string, object?>("target", target.Name));
        return written.Record!;
    }

    /// <summary>
    /// Data past the known length (IETF draft): the upload is invalidated like a whole-upload digest mismatch, a
    /// cancelled tombstone with every stored byte dropped. Returns the outcome to answer with.
    /// </summary>
    public async Task<AppendResult> InvalidateAsync(UploadTarget target, UploadRecord record, CancellationToken cancellationToken)
    {
        EngineLog.InvalidatedPastLength(engine.Logger, record.Id, record.Length);
        var invalidated = await CancelMismatchedAsync(target, record, cancellationToken).ConfigureAwait(false);
        return new AppendResult(UploadOutcome.LengthMismatch, invalidated);
    }

    /// <summary>
    /// A record that still carries a lease when an append starts was left by an append that never finished (a crash,
    /// or an instance that went silent): ask a reconciling backend what its session holds before writing to it.
    /// Returns the result to answer with when the upload cannot go on, else null.
    /// </summary>
    public async Task<AppendResult?> ReconcileUnreleasedAsync(UploadTarget target, UploadRecord loaded, CancellationToken cancellationToken)
    {
        if (loaded.LeaseOwner is null || loaded.Session is null || target.Shape.Reconciliation is not { } reconciling)
        {
            return null;
        }

        var check = await reconciling.CheckSessionAsync(BackendUpload.From(loaded), cancellationToken).ConfigureAwait(false);
        EngineLog.SessionReconciled(engine.Logger, loaded.Id, check, loaded.Offset);
        return check == SessionCheck.Gone ? await ExpireLostSessionAsync(target, loaded.Id, cancellationToken).ConfigureAwait(false) : null;
    }

    /// <summary>The backend's session is gone: the upload becomes an expired tombstone (410) and its staged bytes are dropped.</summary>
    public async Task<AppendResult> ExpireLostSessionAsync(UploadTarget target, string id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var current = await engine.Store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return new AppendResult(UploadOutcome.NotFound, null);
            }

            if (!current.IsActive)
            {
                return new AppendResult(current.State == UploadState.Completed ? UploadOutcome.AlreadyCompleted : UploadOutcome.Gone, current);
            }

            var written = await engine.Store.TryReplaceAsync(engine.Tombstone(current, UploadState.Expired), cancellationToken).ConfigureAwait(false);
            if (written.Status == MetadataWriteStatus.Success)
            {
                EngineLog.SessionGone(engine.Logger, id);
                await engine.AbortAsync(target, written.Record!, cancellationToken).ConfigureAwait(false);
                engine.Metrics.UploadsExpired.Add(1, new KeyValuePair<string, object?>("target", target.Name));
                return new AppendResult(UploadOutcome.Gone, written.Record);
            }
        }
    }

    private Task<MetadataWriteResult> ReopenAsync(UploadRecord completing, CancellationToken cancellationToken) =>
        engine.Store.TryReplaceAsync(completing with { State = UploadState.Open, LeaseOwner = null, LeaseUntil = null }, cancellationToken);
}
