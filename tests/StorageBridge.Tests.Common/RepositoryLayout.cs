namespace StorageBridge.Tests;

/// <summary>Finds files of the repository from a test's output directory.</summary>
public static class RepositoryLayout
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The directory that holds StorageBridge.sln (walking up from AppContext.BaseDirectory).</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>tests/clients: the Node package with the real protocol clients.</summary>
    public static string ClientsDirectory => Path.Combine(Root, "tests", "clients");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StorageBridge.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"StorageBridge.sln not found in any parent of {AppContext.BaseDirectory}.");
    }
}
