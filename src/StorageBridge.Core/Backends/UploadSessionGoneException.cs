namespace StorageBridge.Backends;

/// <summary>
/// The backend's native upload no longer exists (a GCS resumable session that expired or was cancelled outside the
/// bridge): the staged bytes cannot be completed any more. The coordinator turns the upload into an expired tombstone,
/// drops its staged tails and reports <see cref="Coordination.UploadOutcome.Gone"/> instead of failing the request.
/// </summary>
public sealed class UploadSessionGoneException : InvalidOperationException
{
    public UploadSessionGoneException()
    {
    }

    public UploadSessionGoneException(string message)
        : base(message)
    {
    }

    public UploadSessionGoneException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
