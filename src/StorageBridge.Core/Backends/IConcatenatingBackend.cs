using StorageBridge.Uploads;

namespace StorageBridge.Backends;

/// <summary>
/// Optional backend capability: commit a new object made of existing committed objects, in order. Kept apart from
/// <see cref="IUploadBackend"/> so backends without it need no change; the coordinator answers "not supported" for them.
/// </summary>
public interface IConcatenatingBackend
{
    /// <summary>
    /// Writes the objects <paramref name="sourceKeys"/> one after another as the object <see cref="UploadRecord.ObjectKey"/>
    /// of <paramref name="upload"/> and commits it (atomically replacing any object under that key); streams, never buffers
    /// a whole object. The sources are left in place.
    /// </summary>
    Task<StoredObject> ConcatenateAsync(UploadRecord upload, IReadOnlyList<string> sourceKeys, CancellationToken cancellationToken);
}
