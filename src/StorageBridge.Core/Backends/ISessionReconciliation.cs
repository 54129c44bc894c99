using StorageBridge.Uploads;

namespace StorageBridge.Backends;

/// <summary>What a backend's native session holds compared with the upload record (see <see cref="ISessionReconciliation"/>).</summary>
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
/// Capability of an in-place backend whose native upload keeps bytes the record may not know of (GCS sessions confirm
/// chunks before the record is written; see <see cref="IAppendBackend.Reconciliation"/>). After a crash, the engine
/// asks it before the next append.
/// </summary>
public interface ISessionReconciliation
{
    /// <summary>
    /// Compares the native session with the record. Throws when the session holds fewer bytes than the record calls
    /// durable (<see cref="BackendUpload.PartsLength"/>): that would be data loss, never papered over.
    /// </summary>
    Task<SessionCheck> CheckSessionAsync(BackendUpload upload, CancellationToken cancellationToken);
}
