namespace StorageBridge.FileSystem;

/// <summary>Settings of a <see cref="FileSystemBackend"/> target (<c>StorageBridge:Targets:{name}</c> with <c>Backend: FileSystem</c>).</summary>
public sealed record FileSystemBackendOptions
{
    /// <summary>
    /// Directory that holds completed objects at <c>{Root}/{ObjectKey}</c> and staging data under <c>{Root}/.staging/</c>.
    /// Relative paths are resolved against the current directory when the backend is created.
    /// </summary>
    public string Root { get; init; } = FileSystemTargetOptions.DefaultRoot;
}
