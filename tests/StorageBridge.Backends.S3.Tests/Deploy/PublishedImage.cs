using System.Runtime.InteropServices;
using StorageBridge.Tests;

namespace StorageBridge.Backends.S3.Tests.Deploy;

/// <summary>
/// The Host published the way the Dockerfile publishes it, once per test class: the repository is copied through the
/// .dockerignore rules (the build context <c>COPY . .</c> sees), then the Dockerfile's own <c>dotnet publish</c>
/// arguments run in that copy, with <c>$TARGETARCH</c> set to this machine's architecture and the output folder
/// (<c>-o /app</c>) mapped to a temporary folder. Container paths the Dockerfile names (the publish output and the
/// volume) map to folders here through <see cref="MapContainerPath"/>.
/// </summary>
public sealed class PublishedImage : IAsyncLifetime
{
    private readonly string workRoot = Path.Combine(Path.GetTempPath(), "storagebridge-image-" + Guid.NewGuid().ToString("N")[..12]);

    public DockerfileModel Dockerfile { get; } = DockerfileModel.Load(Path.Combine(RepositoryLayout.Root, "Dockerfile"));

    /// <summary>The container path of the publish output (the value of <c>-o</c>), e.g. <c>/app</c>.</summary>
    public string ContainerAppDirectory { get; private set; } = "";

    /// <summary>Where the publish output is here.</summary>
    public string AppDirectory => Path.Combine(workRoot, "app");

    /// <summary>The <c>dotnet publish</c> arguments as run (after the substitutions).</summary>
    public IReadOnlyList<string> PublishArguments { get; private set; } = [];

    public int ContextFileCount { get; private set; }

    public TimeSpan PublishDuration { get; private set; }

    /// <summary>Docker's name of this machine's architecture ($TARGETARCH of a native build).</summary>
    public static string TargetArch => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        var other => throw new PlatformNotSupportedException($"No container image architecture for {other}."),
    };

    public async Task InitializeAsync()
    {
        var context = Path.Combine(workRoot, "context");
        Directory.CreateDirectory(context);
        ContextFileCount = DockerIgnore.Load(Path.Combine(RepositoryLayout.Root, ".dockerignore")).CopyContext(RepositoryLayout.Root, context);

        var arguments = Dockerfile.PublishArguments(new Dictionary<string, string> { ["TARGETARCH"] = TargetArch }).ToList();
        var output = arguments.FindIndex(a => a is "-o" or "--output");
        if (output < 0 || output + 1 >= arguments.Count)
        {
            throw new InvalidDataException("The Dockerfile's `dotnet publish` has no -o/--output.");
        }

        ContainerAppDirectory = arguments[output + 1];
        arguments[output + 1] = AppDirectory;
        PublishArguments = arguments;

        // The build stage runs in its WORKDIR with the context copied there (COPY . .): here, the copy itself.
        // Build servers are off as in a fresh build container, so no MSBuild node or compiler server outlives the test.
        var environment = new Dictionary<string, string?>
        {
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["UseSharedCompilation"] = "false",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) && k != "MSBUILDDISABLENODEREUSE"))
        {
            environment[key] = null; // set by the `dotnet test` that runs this; not in a build container
        }

        var result = await ChildProcess.RunAsync(HostProcess.DotnetHostPath(), arguments, context, TimeSpan.FromMinutes(15), CancellationToken.None, environment);
        PublishDuration = result.Elapsed;
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet {string.Join(' ', arguments)} failed: {result}");
        }
    }

    /// <summary>
    /// A container path named in the Dockerfile or compose file as a path here: under the publish output, or under
    /// <paramref name="volumeDirectory"/> for the image's VOLUME; anything else is returned unchanged.
    /// </summary>
    public string MapContainerPath(string value, string volumeDirectory)
    {
        foreach (var (container, local) in new[] { (ContainerAppDirectory, AppDirectory) }.Concat(Dockerfile.Volumes.Select(v => (v, volumeDirectory))))
        {
            if (value == container)
            {
                return local;
            }

            if (value.StartsWith(container + "/", StringComparison.Ordinal))
            {
                return Path.Combine(local, value[(container.Length + 1)..]);
            }
        }

        return value;
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(workRoot, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return Task.CompletedTask;
    }
}
