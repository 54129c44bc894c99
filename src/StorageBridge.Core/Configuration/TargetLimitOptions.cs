using StorageBridge.Targets;

namespace StorageBridge.Configuration;

/// <summary>
/// Section <c>StorageBridge:Targets:{name}:Limits</c>: quotas and abuse limits of one target (<see cref="StorageBridgeTargetOptions.Limits"/>,
/// so code-configured targets set them in their <c>Add...Target</c> callback or <c>services.Configure&lt;T&gt;(name, ...)</c>).
/// Per-principal limits count against the request's owner, or the client's address for anonymous requests.
/// </summary>
public sealed class TargetLimitOptions
{
    /// <summary><c>CreationsPerMinute</c>: uploads one principal may create per minute (unset: no limit); more answer 429.</summary>
    public int? CreationsPerMinute { get; set; }

    /// <summary><c>BytesPerSecond</c>: request body bytes one principal may send per second (unset: no limit); bodies are slowed to it.</summary>
    public ByteSize? BytesPerSecond { get; set; }

    /// <summary><c>MaxOpenUploads</c>: incomplete, unexpired uploads one principal may have at once (unset: no limit); a creation past it answers 429.</summary>
    public int? MaxOpenUploads { get; set; }

    /// <summary><c>MaxMetadataSize</c>: UTF-8 bytes of all metadata keys and values of a creation (default 4KiB); more answer 400.</summary>
    public ByteSize? MaxMetadataSize { get; set; }

    /// <summary><c>MaxFileNameLength</c>: UTF-8 bytes of an upload's file name (default 255); longer answers 400.</summary>
    public int? MaxFileNameLength { get; set; }

    /// <summary><c>MaxConcatSources</c>: uploads one tus concatenation may join (default 100); more answer 400.</summary>
    public int? MaxConcatSources { get; set; }

    /// <summary>The limits the engine and the endpoints read: set values over the defaults.</summary>
    public TargetQuotas ToQuotas() => new()
    {
        CreationsPerMinute = CreationsPerMinute,
        BytesPerSecond = BytesPerSecond?.Bytes,
        MaxOpenUploads = MaxOpenUploads,
        MaxMetadataSize = MaxMetadataSize?.Bytes ?? TargetQuotas.DefaultMaxMetadataSize,
        MaxFileNameLength = MaxFileNameLength ?? TargetQuotas.DefaultMaxFileNameLength,
        MaxConcatSources = MaxConcatSources ?? TargetQuotas.DefaultMaxConcatSources,
    };

    /// <summary>Fails start-up naming the key of a value that cannot be a limit.</summary>
    internal void Validate(string targetPath)
    {
        var path = ConfigurationBinding.Key(targetPath, "Limits");
        Positive(path, nameof(CreationsPerMinute), CreationsPerMinute);
        Positive(path, nameof(BytesPerSecond), BytesPerSecond?.Bytes);
        Positive(path, nameof(MaxOpenUploads), MaxOpenUploads);
        Positive(path, nameof(MaxFileNameLength), MaxFileNameLength);
        Positive(path, nameof(MaxConcatSources), MaxConcatSources);
        if (MaxOpenUploads > TargetQuotas.MaxOpenUploadsLimit)
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationBinding.Key(path, nameof(MaxOpenUploads)),
                $"at most {TargetQuotas.MaxOpenUploadsLimit} (each creation may look at every slot).");
        }
    }

    private static void Positive(string path, string name, long? value)
    {
        if (value is <= 0)
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, name), $"'{value}' must be greater than 0.");
        }
    }
}
