namespace StorageBridge.Configuration;

/// <summary>Bad configuration, reported at start-up with the full key (e.g. StorageBridge:Targets:small:MaxUploadSize).</summary>
public sealed class StorageBridgeConfigurationException : Exception
{
    public StorageBridgeConfigurationException(string key, string message)
        : base($"Invalid configuration '{key}': {message}")
    {
        Key = key;
    }

    public StorageBridgeConfigurationException()
    {
        Key = "";
    }

    public StorageBridgeConfigurationException(string message)
        : base(message)
    {
        Key = "";
    }

    public StorageBridgeConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Key = "";
    }

    public string Key { get; }
}
