using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using StorageBridge.Coordination;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>
/// Identity of a file's chunks. The client's identifier is not secret and can collide, so it never becomes the upload
/// id: a lookup (an index entry of the metadata store, <see cref="UploadLookup"/>), key "rjs-" + SHA-256(target,
/// principal, identifier, total size, chunk size, file name), names the upload (a fresh 128-bit id). Racing first
/// chunks agree through the store's add-if-absent on the lookup.
/// </summary>
internal sealed class ChunkLookups(UploadAssembler assembler, IUploadMetadataStore store, ILogger logger)
{
    public const string Protocol = "resumable";

    /// <summary>How long after completion the same file's chunks still map to the completed upload (late duplicates, test GETs).</summary>
    public static readonly TimeSpan CompletedChunkWindow = TimeSpan.FromHours(1);

    // A lookup naming an upload that does not exist yet: its creator is between the two writes, or died there.
    private static readonly TimeSpan LookupCreationGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LookupPollInterval = TimeSpan.FromMilliseconds(20);

    private DateTimeOffset Now => assembler.Time.GetUtcNow();

    public static string LookupKey(string target, ChunkRequest request)
    {
        // Length-prefixed fields: no choice of identifier or file name can make two different tuples hash alike.
        var material = new StringBuilder();
        foreach (var field in new[]
                 {
                     target, request.Principal, request.Identifier,
                     request.TotalSize.ToString(CultureInfo.InvariantCulture), request.ChunkSize.ToString(CultureInfo.InvariantCulture),
                     request.FileName ?? "",
                 })
        {
            material.Append(field.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(field).Append('\n');
        }

        return "rjs-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material.ToString())));
    }

    /// <summary>
    /// The upload the request's file maps to. With <paramref name="create"/>, one is created when there is none, or
    /// when the mapped one is gone, completed longer than <see cref="CompletedChunkWindow"/> ago, or of an older version.
    /// </summary>
    public async Task<UploadRecord?> ResolveAsync(
        UploadTarget target, ChunkRequest request, ChunkLayout layout, bool create, CancellationToken cancellationToken)
    {
        var key = LookupKey(target.Name, request);
        for (var attempt = 0; attempt < 10_000; attempt++)
        {
            var lookup = await store.GetLookupAsync(key, cancellationToken).ConfigureAwait(false);
            if (lookup is null)
            {
                if (!create)
                {
                    return null;
                }

                var id = UploadIds.New();
                var written = await store.TryAddLookupAsync(NewLookup(key, target, id), cancellationToken).ConfigureAwait(false);
                if (written.Status == MetadataWriteStatus.Success)
                {
                    return await CreateUploadAsync(target, request, layout, id, key, written.Lookup?.Version, cancellationToken).ConfigureAwait(false);
                }

                continue; // another request created it first: use theirs
            }

            var upload = UploadIds.IsWellFormed(lookup.UploadId)
                ? await store.GetAsync(lookup.UploadId, cancellationToken).ConfigureAwait(false)
                : null;
            if (upload is not null && (!string.Equals(upload.Target, target.Name, StringComparison.OrdinalIgnoreCase)
                || !string.Equals(upload.Owner ?? "", request.Principal, StringComparison.Ordinal)))
            {
                upload = null;
            }

            if (upload is not null && IsCurrent(upload))
            {
                return upload;
            }

            if (!create)
            {
                return null;
            }

            if (upload is null && Now - lookup.UpdatedAt < LookupCreationGrace)
            {
                // Real time, not the injected clock: this waits for another request's two writes, not for a deadline.
                await Task.Delay(LookupPollInterval, cancellationToken).ConfigureAwait(false);
                continue;
            }

            // Gone, long completed, or its creator died before creating it: the same file starts a new upload.
            var fresh = UploadIds.New();
            var replaced = await store.TryReplaceLookupAsync(NewLookup(key, target, fresh) with { Version = lookup.Version, CreatedAt = lookup.CreatedAt }, cancellationToken)
                .ConfigureAwait(false);
            if (replaced.Status == MetadataWriteStatus.Success)
            {
                return await CreateUploadAsync(target, request, layout, fresh, key, replaced.Lookup?.Version, cancellationToken).ConfigureAwait(false);
            }
        }

        throw new InvalidOperationException($"Could not resolve the upload of lookup {key}: the metadata store keeps conflicting.");
    }

    /// <summary>A completed upload's lookup stays for <see cref="CompletedChunkWindow"/> after completion, then the expiry sweep forgets it.</summary>
    public async Task TouchAsync(UploadRecord upload, CancellationToken cancellationToken)
    {
        if (ChunkUploadState.Read(upload)?.Lookup is not { } key)
        {
            return;
        }

        try
        {
            var lookup = await store.GetLookupAsync(key, cancellationToken).ConfigureAwait(false);
            // Once: later duplicates find the lookup already shortened.
            if (lookup?.UploadId == upload.Id && !(lookup.ExpiresAt <= Now + CompletedChunkWindow))
            {
                await store.TryReplaceLookupAsync(lookup with { ExpiresAt = Now + CompletedChunkWindow, UpdatedAt = Now }, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Only the lookup's lifetime is at stake: it still expires with the upload's original expiry.
            ChunkLog.CleanupFailed(logger, key, ex);
        }
    }

    /// <summary>Whether chunks of the file still go to <paramref name="upload"/> (and it is a chunk upload of this version).</summary>
    private bool IsCurrent(UploadRecord upload) => ChunkUploadState.Read(upload) is not null && upload.Assembled && upload.State switch
    {
        // Open but past its expiry counts as gone, as everywhere in the engine.
        UploadState.Open => !(upload.ExpiresAt is { } expires && expires <= Now),
        UploadState.Completing => true,
        UploadState.Completed => Now - upload.UpdatedAt < CompletedChunkWindow,
        _ => false,
    };

    private UploadLookup NewLookup(string key, UploadTarget target, string uploadId)
    {
        var now = Now;
        return new UploadLookup
        {
            Key = key,
            UploadId = uploadId,
            CreatedAt = now,
            UpdatedAt = now,
            ExpiresAt = now + target.Expiration + CompletedChunkWindow,
        };
    }

    private async Task<UploadRecord> CreateUploadAsync(
        UploadTarget target, ChunkRequest request, ChunkLayout layout, string id, string key, string? lookupVersion, CancellationToken cancellationToken)
    {
        var state = new ChunkUploadState { Layout = layout, Direct = layout.FitsDirectParts(target), Lookup = key };
        var created = await assembler.CreateAsync(
            new CreateUploadRequest
            {
                Target = target.Name,
                Protocol = Protocol,
                Owner = request.Principal is { Length: > 0 } owner ? owner : null,
                Principal = request.User,
                Length = layout.TotalSize,
                ContentType = request.ContentType,
                FileName = request.FileName,
                ProtocolState = state.WriteTo(new Dictionary<string, string>()),
            },
            id,
            cancellationToken).ConfigureAwait(false);
        if (created.Rejection is { } rejection)
        {
            // A refused creation leaves nothing behind, not even the lookup the file's other chunks would wait on.
            if (lookupVersion is not null)
            {
                await store.TryDeleteLookupAsync(key, lookupVersion, CancellationToken.None).ConfigureAwait(false);
            }

            throw new Hooks.CreationRejectedException(rejection);
        }

        if (Limits.LimitAnswers.For(created.Outcome, created.Limit, target) is { } refused)
        {
            // Nothing was created: drop the lookup naming it, so the file's next chunk does not wait for it.
            if (await store.GetLookupAsync(key, cancellationToken).ConfigureAwait(false) is { } lookup && lookup.UploadId == id)
            {
                await store.TryDeleteLookupAsync(key, lookup.Version, cancellationToken).ConfigureAwait(false);
            }

            throw new Limits.UploadLimitException(refused);
        }

        return created.Upload ?? throw new InvalidOperationException($"Creating chunk upload {id} failed: {created.Outcome}.");
    }
}
