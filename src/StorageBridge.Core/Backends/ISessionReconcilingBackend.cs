using StorageBridge.Uploads;

namespace StorageBridge.Backends;

/// <summary>What a backend's native session holds compared with the upload record (see <see cref="ISessionReconcilingBackend"/>).</summary>
public enum SessionCheck
{
    /// <summary>The session holds at least the record's part bytes; anything beyond is unacknowledged and will be re-sent.</summary>
    Consistent,

    /// <summary>The session already assembled the object (its final chunk landed but the record never learned).</summary>
    Completed,

    /// <summary>The session no longer exists (expired or cancelled outside the bridge).</summary>
    Gone,
}

/// <summary>
/// A backend whose native upload keeps bytes the record may not know of (GCS sessions confirm chunks before the record
/// is written). After a crash, the coordinator asks it before the next append; the backend throws when the session holds
/// fewer bytes than the record calls durable (that would be data loss, never papered over).
/// </summary>
public interface ISessionReconcilingBackend
{
    Task<SessionCheck> CheckSessionAsync(UploadRecord upload, CancellationToken cancellationToken);
}
