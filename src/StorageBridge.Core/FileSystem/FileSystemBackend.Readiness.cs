using StorageBridge.Diagnostics;

namespace StorageBridge.FileSystem;

/// <summary>
/// Readiness: a file can be created in the staging folder below the root (and is deleted on close), so a read-only
/// or full volume fails the check. The folders are created as the first upload would create them.
/// </summary>
public sealed partial class FileSystemBackend : IStorageReadinessProbe
{
    public string Location => root;

    public ValueTask ProbeAsync(CancellationToken cancellationToken) =>
        new(Classify(() => Run(
            () =>
            {
                Directory.CreateDirectory(stagingRoot);
                var probe = Path.Combine(stagingRoot, $".ready-{Environment.ProcessId}-{Guid.NewGuid():N}");
                using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
                {
                }
            },
            cancellationToken)));
}
