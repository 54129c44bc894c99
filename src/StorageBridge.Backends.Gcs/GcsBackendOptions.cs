namespace StorageBridge.Backends.Gcs;

public sealed class GcsBackendOptions
{
    /// <summary>Bucket that receives the objects (and the staged tails).</summary>
    public required string Bucket { get; init; }

    /// <summary>Object-name prefix for tails staged between appends; one folder per upload below it.</summary>
    public string StagingPrefix { get; init; } = ".staging/";

    /// <summary>Bytes buffered per append before a chunk is sent; a multiple of 256 KiB.</summary>
    public int PartSize { get; init; } = 8 * 1024 * 1024;

    /// <summary>False: sessions are created with ifGenerationMatch=0, so completion never replaces an object.</summary>
    public bool AllowOverwrite { get; init; } = true;
}
