namespace StorageBridge.Backends.AzureBlob;

/// <summary>Completion found a blob under the key that this upload did not commit, and the target does not allow overwrite.</summary>
public sealed class AzureBlobObjectExistsException : InvalidOperationException
{
    public AzureBlobObjectExistsException()
    {
    }

    public AzureBlobObjectExistsException(string message)
        : base(message)
    {
    }

    public AzureBlobObjectExistsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
