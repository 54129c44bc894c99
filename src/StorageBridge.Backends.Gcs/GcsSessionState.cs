using StorageBridge.Uploads;

namespace StorageBridge.Backends.Gcs;

/// <summary>A resumable session's state: bytes GCS holds, and the object once the session completed.</summary>
public sealed record GcsSessionState(long Persisted, StoredObject? Completed);
