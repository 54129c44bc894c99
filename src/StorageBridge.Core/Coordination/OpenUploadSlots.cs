using System.Security.Cryptography;
using System.Text;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// <c>MaxOpenUploads</c> across every instance that shares the metadata store, with the store's existing lookup index
/// only: a principal has N slots, lookups under <c>open:{target}:{principal hash}:{slot}</c> naming the upload that
/// holds the slot and expiring with it. A creation claims the first free slot (an atomic add), or takes over, by
/// compare-and-swap, a slot whose upload is no longer open (completed, cancelled, expired, forgotten); when every slot
/// holds an open upload, the creation is refused. Slots are not released when an upload completes: the next claim
/// finds the upload closed and reuses the slot, which is what keeps the count right even when an instance dies.
/// </summary>
internal sealed class OpenUploadSlots(EngineContext engine)
{
    /// <summary>A slot naming an upload that does not exist (yet) is being set up for this long before it counts as free.</summary>
    internal static readonly TimeSpan SetupGrace = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Claims a slot for upload <paramref name="id"/> of <paramref name="request"/>'s principal; false when the principal
    /// already has <see cref="TargetQuotas.MaxOpenUploads"/> open uploads. Without that limit, always true (no store call).
    /// </summary>
    public async Task<bool> TryClaimAsync(UploadTarget target, CreateUploadRequest request, string id, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        if (target.Options.Quotas.MaxOpenUploads is not int max)
        {
            return true;
        }

        var prefix = $"open:{target.Name}:{PrincipalHash(request)}:";
        for (var slot = 0; slot < max; slot++)
        {
            var key = prefix + slot.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (await TryClaimSlotAsync(key, id, expiresAt, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    private async Task<bool> TryClaimSlotAsync(string key, string id, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        var now = engine.Now;
        var claim = new UploadLookup { Key = key, UploadId = id, CreatedAt = now, UpdatedAt = now, ExpiresAt = expiresAt };
        // Two rounds: a slot deleted (expired lookups are swept) between our add and our read is free again.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var added = await engine.Store.TryAddLookupAsync(claim, cancellationToken).ConfigureAwait(false);
            if (added.Status == MetadataWriteStatus.Success)
            {
                return true;
            }

            var holder = await engine.Store.GetLookupAsync(key, cancellationToken).ConfigureAwait(false);
            if (holder is null)
            {
                continue;
            }

            if (await HoldsOpenUploadAsync(holder, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            // The slot's upload is closed: take the slot over, unless another creation got there first.
            var replaced = await engine.Store.TryReplaceLookupAsync(claim with { CreatedAt = holder.CreatedAt, Version = holder.Version }, cancellationToken)
                .ConfigureAwait(false);
            return replaced.Status == MetadataWriteStatus.Success;
        }

        return false;
    }

    /// <summary>Whether the slot's upload is open: incomplete and unexpired, or still being created.</summary>
    private async Task<bool> HoldsOpenUploadAsync(UploadLookup holder, CancellationToken cancellationToken)
    {
        var record = await engine.Store.GetAsync(holder.UploadId, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return holder.UpdatedAt + SetupGrace > engine.Now;
        }

        return record.State == UploadState.Open && engine.StateOutcome(record) is null;
    }

    /// <summary>The principal (owner, else the anonymous client's claim, else "anonymous") as a key segment: hex of its SHA-256.</summary>
    private static string PrincipalHash(CreateUploadRequest request)
    {
        var principal = request.Owner is { Length: > 0 } owner
            ? "owner:" + owner
            : request.Principal?.FindFirst(TargetQuotas.AnonymousClientClaim)?.Value is { Length: > 0 } client
                ? "client:" + client
                : "anonymous";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(principal)).AsSpan(0, 16));
    }
}
