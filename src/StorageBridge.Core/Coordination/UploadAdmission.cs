using StorageBridge.Backends;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// What may start: creates uploads whose length the target accepts, and decides whether an append may begin (the
/// upload's state, its offset and length, the target's size and per-append limits, who may append to assembled uploads).
/// </summary>
internal sealed class UploadAdmission(EngineContext engine)
{
    /// <summary>Largest total size accepted by this target (declared up front, or discovered while streaming).</summary>
    public static long MaxLength(UploadTarget target, bool declared)
    {
        ArgumentNullException.ThrowIfNull(target);
        var backendCap = declared
            ? target.Shape.MaxDeclaredLength(target.PartSize)
            : target.Limits.MaxSize;
        return Math.Min(target.Options.MaxUploadSize ?? long.MaxValue, backendCap ?? long.MaxValue);
    }

    /// <summary>Creates an upload under an id the caller drew (<see cref="UploadIds.New"/>); <paramref name="assembled"/>: see <see cref="UploadRecord.Assembled"/>.</summary>
    public async Task<CreateResult> CreateAsync(CreateUploadRequest request, string id, bool assembled, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var target = engine.Targets.Find(request.Target);
        if (target is null)
        {
            return new CreateResult(UploadOutcome.TargetNotFound, null);
        }

        if (request.Length is long length)
        {
            if (length < 0)
            {
                return new CreateResult(UploadOutcome.LengthMismatch, null);
            }

            var cap = MaxLength(target, declared: true);
            if (length > cap)
            {
                return new CreateResult(UploadOutcome.TooLarge, null, LimitKind.MaxSize);
            }
        }

        if (CreationLimits.Check(target, request.FileName, request.ContentType, request.Metadata) is { } refused)
        {
            CreationLimits.LogRefused(engine.Logger, target.Name, refused.Limit);
            return refused;
        }

        var now = engine.Now;
        if (ObjectKeys.Build(target.Options, target.Name, id, request.FileName, now, request.Principal) is not { } objectKey)
        {
            // The key template names a claim the caller lacks (or one that is no safe path segment).
            return new CreateResult(UploadOutcome.Forbidden, null);
        }

        // Before the backend starts anything: a rejected creation stores nothing.
        var verdict = await engine.CreationHooks.DecideAsync(request, target, ObjectKeys.FillClaims(target.Options.Prefix, request.Principal)!, cancellationToken).ConfigureAwait(false);
        if (verdict.Rejection is { } rejection)
        {
            return new CreateResult(UploadOutcome.Rejected, null) { Rejection = rejection };
        }

        using var activity = EngineActivities.Start("StorageBridge.Create", id, target);
        // Last of the checks: a slot is claimed only for a creation that goes ahead.
        if (!await new OpenUploadSlots(engine).TryClaimAsync(target, request, id, now + target.Expiration, cancellationToken).ConfigureAwait(false))
        {
            CreationLimits.LogRefused(engine.Logger, target.Name, LimitKind.MaxOpenUploads);
            return new CreateResult(UploadOutcome.TooManyOpenUploads, null, LimitKind.MaxOpenUploads);
        }

        var record = new UploadRecord
        {
            Id = id,
            Target = target.Name,
            ObjectKey = verdict.ObjectKey ?? objectKey,
            Protocol = request.Protocol,
            Owner = request.Owner,
            Length = request.Length,
            ContentType = request.ContentType,
            FileName = request.FileName,
            Metadata = verdict.Metadata ?? request.Metadata ?? UploadRecord.EmptyMetadata,
            ProtocolState = request.ProtocolState ?? UploadRecord.EmptyMetadata,
            Assembled = assembled,
            ExpectedDigestAlgorithm = request.ExpectedDigest?.Algorithm,
            ExpectedDigest = request.ExpectedDigest is { } digest ? Convert.ToBase64String(digest.Value) : null,
            HashState = request.TrackSha256 || request.ExpectedDigest is not null ? new Hashing.ResumableSha256().Export() : null,
            CreatedAt = now,
            UpdatedAt = now,
            ExpiresAt = now + target.Expiration,
        };
        try
        {
            using var call = EngineActivities.StartBackendCall(engine.Metrics, "Start", target, id);
            record = record with { Session = await EngineActivities.Track(call, target.Backend.StartAsync(BackendUpload.From(record), cancellationToken)).ConfigureAwait(false) };
        }
        catch (ObjectExistsException)
        {
            // Backends that check preconditions when the native upload starts (GCS ifGenerationMatch=0).
            return new CreateResult(UploadOutcome.ObjectExists, null);
        }

        var created = await engine.Store.CreateAsync(record, cancellationToken).ConfigureAwait(false);
        if (created.Status != MetadataWriteStatus.Success)
        {
            // 128 random bits do not collide; a conflict here means the store is misbehaving.
            throw new InvalidOperationException($"Metadata store refused to create upload {id}: {created.Status}.");
        }

        engine.Metrics.UploadsCreated.Add(1, new KeyValuePair<string, object?>("target", target.Name));
        EngineLog.UploadCreated(engine.Logger, id, target.Name, request.Length);
        return new CreateResult(UploadOutcome.Success, created.Record);
    }

    /// <summary>
    /// Whether an append announces (Content-Length) more bytes than its known length leaves room for: the
    /// length recorded, else the one this request declares.
    /// </summary>
    public static bool PassesKnownLength(UploadRecord record, AppendRequest request)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(request);
        var length = record.Length ?? (request.DeclaredLength is long declared && declared >= record.Offset ? declared : null);
        return request.ContentLength is long contentLength && length is long known && record.Offset + contentLength > known;
    }

    /// <summary>Why the append may not start (the answer to give), or null when it may.</summary>
    public AppendResult? CheckAppend(UploadTarget target, UploadRecord record, AppendRequest request, AppendOptions options)
    {
        if (request.ContentDigest is { } digest && !DigestValue.IsSupportedForAppend(digest.Algorithm))
        {
            throw new ArgumentException($"Unsupported digest algorithm '{digest.Algorithm}'.", nameof(request));
        }

        if (record.State == UploadState.Completed)
        {
            return new AppendResult(UploadOutcome.AlreadyCompleted, record);
        }

        if (engine.StateOutcome(record) is { } gone)
        {
            return new AppendResult(gone, record);
        }

        if (record.State == UploadState.Completing)
        {
            return new AppendResult(UploadOutcome.Conflict, record);
        }

        // An assembled upload accepts appends only from the assembler (and the assembler appends only to those).
        if (record.Assembled != options.FromAssembler)
        {
            return new AppendResult(UploadOutcome.Conflict, record);
        }

        if (request.Offset != record.Offset)
        {
            return new AppendResult(UploadOutcome.OffsetMismatch, record, record.Offset);
        }

        var length = record.Length;
        if (request.DeclaredLength is long declared)
        {
            if (declared < record.Offset || (length is long known && known != declared))
            {
                return new AppendResult(UploadOutcome.LengthMismatch, record);
            }

            length = declared;
        }

        if (request.ContentLength is long contentLength)
        {
            var end = record.Offset + contentLength;
            if ((request.Complete && length is long total && total != end) || (length is long max && end > max))
            {
                return new AppendResult(UploadOutcome.LengthMismatch, record);
            }

            if (target.Limits.MaxAppendSize is long maxAppend && contentLength > maxAppend)
            {
                return new AppendResult(UploadOutcome.TooLarge, record, Limit: LimitKind.MaxAppendSize);
            }

            var exempt = request.Complete || options.FromAssembler || (request.IsCreation && contentLength == 0);
            if (!exempt && target.Limits.MinAppendSize is long minAppend && contentLength < minAppend)
            {
                return new AppendResult(UploadOutcome.TooSmall, record, Limit: LimitKind.MinAppendSize);
            }

            if (end > MaxLength(target, declared: length is not null))
            {
                return new AppendResult(UploadOutcome.TooLarge, record, Limit: LimitKind.MaxSize);
            }
        }

        if (length is long newLength && newLength > MaxLength(target, declared: true))
        {
            return new AppendResult(UploadOutcome.TooLarge, record, Limit: LimitKind.MaxSize);
        }

        return null;
    }
}
