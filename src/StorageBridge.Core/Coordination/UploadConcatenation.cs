using StorageBridge.Backends;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>Joins completed uploads of one target into a new completed upload (backends with <see cref="IUploadBackend.Concatenation"/>).</summary>
internal sealed class UploadConcatenation(EngineContext engine, UploadCompletion completion)
{
    /// <summary>Whether the target's backend can join completed uploads into a new one (<see cref="ConcatenateAsync"/>).</summary>
    public bool IsSupported(string target) => engine.Targets.Find(target)?.Backend.Concatenation is not null;

    /// <summary>
    /// Creates a completed upload whose object is the given completed uploads joined in order. The record is written
    /// only after the backend committed the object, so a failure leaves no half-made upload (at most an orphan object).
    /// </summary>
    public async Task<CreateResult> ConcatenateAsync(ConcatenateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var target = engine.Targets.Find(request.Target);
        if (target is null)
        {
            return new CreateResult(UploadOutcome.TargetNotFound, null);
        }

        if (target.Backend.Concatenation is not { } concatenating)
        {
            return new CreateResult(UploadOutcome.NotSupported, null);
        }

        // Bounded before any source is read or byte copied: one small partial named many times is a large object.
        if (request.SourceIds.Count > target.Options.Quotas.MaxConcatSources)
        {
            CreationLimits.LogRefused(engine.Logger, target.Name, LimitKind.MaxConcatSources);
            return new CreateResult(UploadOutcome.TooManySources, null, LimitKind.MaxConcatSources);
        }

        if (CreationLimits.Check(target, request.FileName, request.ContentType, request.Metadata) is { } refused)
        {
            return refused;
        }

        var sources = new List<UploadRecord>(request.SourceIds.Count);
        foreach (var sourceId in request.SourceIds)
        {
            // Only uploads the caller may see can be joined: another owner's source does not exist for it.
            var source = UploadIds.IsWellFormed(sourceId) ? await engine.LoadForAsync(target.Name, sourceId, request.Owner, cancellationToken).ConfigureAwait(false) : null;
            if (source is null)
            {
                return new CreateResult(UploadOutcome.NotFound, null);
            }

            if (engine.StateOutcome(source) is { } gone)
            {
                return new CreateResult(gone, source);
            }

            if (source.State != UploadState.Completed)
            {
                return new CreateResult(UploadOutcome.IncompleteSource, source);
            }

            sources.Add(source);
        }

        var total = sources.Sum(s => s.Offset);
        if (total > UploadAdmission.MaxLength(target, declared: true))
        {
            return new CreateResult(UploadOutcome.TooLarge, null, LimitKind.MaxSize);
        }

        var now = engine.Now;
        var id = UploadIds.New();
        if (ObjectKeys.Build(target.Options, target.Name, id, request.FileName, now, request.Principal) is not { } objectKey)
        {
            return new CreateResult(UploadOutcome.Forbidden, null);
        }

        // Before the backend copies a byte: a rejected concatenation stores nothing.
        var verdict = await engine.CreationHooks.DecideAsync(request, total, target, ObjectKeys.FillClaims(target.Options.Prefix, request.Principal)!, cancellationToken).ConfigureAwait(false);
        if (verdict.Rejection is { } rejection)
        {
            return new CreateResult(UploadOutcome.Rejected, null) { Rejection = rejection };
        }

        var record = new UploadRecord
        {
            Id = id,
            Target = target.Name,
            ObjectKey = verdict.ObjectKey ?? objectKey,
            Protocol = request.Protocol,
            Owner = request.Owner,
            Length = total,
            Offset = total,
            ContentType = request.ContentType,
            FileName = request.FileName,
            Metadata = verdict.Metadata ?? request.Metadata ?? UploadRecord.EmptyMetadata,
            ProtocolState = request.ProtocolState ?? UploadRecord.EmptyMetadata,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var stored = await concatenating.ConcatenateAsync(BackendUpload.From(record), [.. sources.Select(s => s.StoredObject?.Key ?? s.ObjectKey)], cancellationToken)
            .ConfigureAwait(false);
        var created = await engine.Store.CreateAsync(completion.CompletedRecord(record, stored), cancellationToken).ConfigureAwait(false);
        if (created.Status != MetadataWriteStatus.Success)
        {
            throw new InvalidOperationException($"Metadata store refused to create upload {id}: {created.Status}.");
        }

        engine.OnCompletionWritten(created.Record);
        engine.Metrics.UploadsCreated.Add(1, new KeyValuePair<string, object?>("target", target.Name));
        engine.Metrics.UploadsCompleted.Add(1, new KeyValuePair<string, object?>("target", target.Name));
        EngineLog.UploadCompleted(engine.Logger, id, total, record.ObjectKey);
        return new CreateResult(UploadOutcome.Success, created.Record);
    }
}
