namespace StorageBridge.Backends;

/// <summary>
/// Completion found another object under the key and the target does not allow overwriting it. The upload's bytes stay
/// staged; the coordinator reports <see cref="Coordination.UploadOutcome.ObjectExists"/> instead of failing the request.
/// </summary>
public sealed class ObjectExistsException : InvalidOperationException
{
    public ObjectExistsException()
    {
    }

    public ObjectExistsException(string message)
        : base(message)
    {
    }

    public ObjectExistsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
