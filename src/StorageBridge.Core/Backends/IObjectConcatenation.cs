using StorageBridge.Uploads;

namespace StorageBridge.Backends;

/// <summary>
/// Optional backend capability (<see cref="IUploadBackend.Concatenation"/>): commit a new object made of existing
/// committed objects, in order. Without it the engine answers "not supported".
/// </summary>
public interface IObjectConcatenation
{
    /// <summary>
    /// Writes the objects <paramref name="sourceKeys"/> one after another as the object <see cref="BackendUpload.ObjectKey"/>
    /// of <paramref name="upload"/> and commits it (atomically replacing any object under that key); streams, never
    /// buffers a whole object. The sources are left in place. Idempotent: a repeat writes the same object again.
    /// </summary>
    Task<StoredObject> ConcatenateAsync(BackendUpload upload, IReadOnlyList<string> sourceKeys, CancellationToken cancellationToken);
}
