using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace StorageBridge.Tests;

/// <summary>Options for <see cref="HostProcess.StartAsync(HostProcessOptions?, CancellationToken)"/>.</summary>
public sealed class HostProcessOptions
{
    /// <summary>The built StorageBridge.Host.dll; default: next to the running assembly.</summary>
    public string? HostDllPath { get; init; }

    /// <summary>Arguments passed after the dll and before <c>--urls</c> (the bench's baseline server uses this).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>Data directory (Root and metadata live below it). Default: a new temp dir, deleted on dispose.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Parent of the temp data directory when <see cref="DataDirectory"/> is not set (default: the system temp dir).</summary>
    public string? TempRoot { get; init; }

    /// <summary>Keep the data directory on dispose even when it was created here.</summary>
    public bool KeepDataDirectory { get; init; }

    /// <summary>Extra environment variables (ASP.NET Core configuration: <c>StorageBridge__Targets__x__Root</c>...); a null value removes one.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>How long to wait for <c>GET /healthz</c> to answer 200.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Receives each line the process writes (stdout and stderr), e.g. ITestOutputHelper.WriteLine.</summary>
    public Action<string>? OutputSink { get; init; }

    /// <summary>Log level for the host's own logging (Logging__LogLevel__Default).</summary>
    public string LogLevel { get; init; } = "Warning";
}

/// <summary>
/// Runs the BUILT StorageBridge.Host as a separate OS process (<c>dotnet StorageBridge.Host.dll --urls ...</c>)
/// on a free loopback port with its files and SQLite metadata in a temp directory. Kill() is a SIGKILL of
/// the process tree; RestartAsync() starts it again on the same port and data directory.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private const int MaxOutputLines = 4000;

    private readonly HostProcessOptions _options;
    private readonly bool _ownsDataDirectory;
    private readonly Lock _outputLock = new();
    private readonly Queue<string> _output = new();
    private readonly HttpClient _probe = new() { Timeout = TimeSpan.FromSeconds(5) };
    private Process? _process;
    private int _generation;
    private bool _disposed;

    private HostProcess(HostProcessOptions options, string dataDirectory, bool ownsDataDirectory, string hostDllPath, int port)
    {
        _options = options;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        HostDllPath = hostDllPath;
        Port = port;
    }

    /// <summary>http://127.0.0.1:{port}/ — stable across restarts.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public int Port { get; private set; }

    public string HostDllPath { get; }

    public string DataDirectory { get; }

    /// <summary>Root of the <c>default</c> target: the completed object is <c>{TargetRoot}/{id}</c>.</summary>
    public string TargetRoot => Path.Combine(DataDirectory, "files");

    /// <summary>The SQLite metadata file.</summary>
    public string MetadataPath => Path.Combine(DataDirectory, "meta", "storagebridge.db");

    /// <summary>OS process id of the running host, or null when it is not running.</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>The Process object of the running host (for RSS sampling etc.).</summary>
    public Process? Process => _process;

    /// <summary>Captured stdout/stderr (last lines), prefixed with the process generation and stream.</summary>
    public string Output
    {
        get
        {
            lock (_outputLock)
            {
                return string.Join('\n', _output);
            }
        }
    }

    public static string DefaultHostDllPath => Path.Combine(AppContext.BaseDirectory, "StorageBridge.Host.dll");

    public static async Task<HostProcess> StartAsync(HostProcessOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new HostProcessOptions();
        var dll = Path.GetFullPath(options.HostDllPath ?? DefaultHostDllPath);
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException(
                $"StorageBridge.Host.dll not found at '{dll}'. Reference src/hosts/StorageBridge.Host from the project that starts it (so the host is built and copied next to it), or set HostDllPath.",
                dll);
        }

        var ownsData = options.DataDirectory is null;
        var dataDirectory = options.DataDirectory ?? Path.Combine(options.TempRoot ?? Path.GetTempPath(), "storagebridge-host-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);

        var host = new HostProcess(options, dataDirectory, ownsData, dll, GetFreeTcpPort());
        Directory.CreateDirectory(host.TargetRoot);
        Directory.CreateDirectory(Path.GetDirectoryName(host.MetadataPath)!);
        try
        {
            await host.LaunchAsync(allowPortChange: true, cancellationToken).ConfigureAwait(false);
            return host;
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Kills the host process tree with SIGKILL (no graceful shutdown) and waits for it to exit.</summary>
    public void Kill()
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                throw new InvalidOperationException($"Host process {process.Id} did not exit 30 s after SIGKILL.");
            }

            process.WaitForExit(); // drains the redirected output
        }
        catch (InvalidOperationException) when (HasExitedSafe(process))
        {
            // already gone
        }
    }

    /// <summary>
    /// Sends SIGTERM (a graceful shutdown, as an orchestrator stops a container) and waits up to <paramref name="wait"/>
    /// for the process to exit. Returns its exit code, or null when it is still running then.
    /// </summary>
    public int? Terminate(TimeSpan wait)
    {
        var process = _process ?? throw new InvalidOperationException("The host is not running.");
        if (SendSignal(process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill(SIGTERM) of {process.Id} failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}.");
        }

        if (!process.WaitForExit(wait))
        {
            return null;
        }

        process.WaitForExit(); // drains the redirected output
        return process.ExitCode;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    /// <summary>Kills the host if it runs, then starts it again on the same port and data directory.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Kill();
        _process?.Dispose();
        _process = null;
        await LaunchAsync(allowPortChange: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A message with the host's captured output, for assertion failures.</summary>
    public string Describe(string message) =>
        $"{message}\n--- StorageBridge.Host (pid {_process?.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}, {BaseAddress}) output ---\n{Output}\n--- end of host output ---";

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            Kill();
        }
        finally
        {
            _process?.Dispose();
            _process = null;
            _probe.Dispose();
        }

        if (_ownsDataDirectory && !_options.KeepDataDirectory)
        {
            await DeleteDirectoryAsync(DataDirectory).ConfigureAwait(false);
        }
    }

    private async Task LaunchAsync(bool allowPortChange, CancellationToken cancellationToken)
    {
        const int attempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            var generation = ++_generation;
            var process = CreateProcess(generation);
            _process = process;
            if (!process.Start())
            {
                throw new InvalidOperationException($"Could not start '{process.StartInfo.FileName} {process.StartInfo.Arguments}'.");
            }

            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var ready = await WaitUntilHealthyAsync(process, cancellationToken).ConfigureAwait(false);
            if (ready)
            {
                return;
            }

            // The process exited before it became healthy. A port taken in the meantime is retried.
            var addressInUse = Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase);
            process.Dispose();
            _process = null;
            if (!addressInUse || attempt >= attempts)
            {
                throw new InvalidOperationException(Describe($"StorageBridge.Host exited before /healthz answered 200 (attempt {attempt})."));
            }

            // First start: another port. Restart: the same port (clients hold absolute upload URLs).
            if (allowPortChange)
            {
                Port = GetFreeTcpPort();
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> WaitUntilHealthyAsync(Process process, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var health = new Uri(BaseAddress, "healthz");
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                process.WaitForExit(); // flush output events
                return false;
            }

            try
            {
                using var response = await _probe.GetAsync(health, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // probe timeout
            }

            if (deadline.Elapsed > _options.StartTimeout)
            {
                Kill();
                throw new TimeoutException(Describe($"StorageBridge.Host did not answer 200 on {health} within {_options.StartTimeout.TotalSeconds:0} s."));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
        }
    }

    private Process CreateProcess(int generation)
    {
        var start = new ProcessStartInfo
        {
            FileName = DotnetHostPath(),
            WorkingDirectory = DataDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        start.ArgumentList.Add(HostDllPath);
        foreach (var argument in _options.ExtraArguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{Port}");

        var env = start.Environment;
        // Nothing from the caller's own ASP.NET Core setup may leak into the host.
        foreach (var key in env.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || k.StartsWith("StorageBridge__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            env.Remove(key);
        }

        env["DOTNET_ENVIRONMENT"] = "Production";
        env["ASPNETCORE_ENVIRONMENT"] = "Production";
        env["DOTNET_NOLOGO"] = "1";
        env["Logging__LogLevel__Default"] = _options.LogLevel;
        env["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        env["Logging__Console__FormatterName"] = "simple";
        env["StorageBridge__Targets__default__Root"] = TargetRoot;
        env["StorageBridge__Metadata__Path"] = MetadataPath;
        foreach (var (key, value) in _options.Environment)
        {
            // null removes a variable, e.g. the default target's Root to start the Host with no target configured.
            if (value is null)
            {
                env.Remove(key);
            }
            else
            {
                env[key] = value;
            }
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(generation, "out", e.Data);
        process.ErrorDataReceived += (_, e) => Append(generation, "err", e.Data);
        return process;
    }

    private void Append(int generation, string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        var text = $"[{generation}:{stream}] {line}";
        lock (_outputLock)
        {
            _output.Enqueue(text);
            while (_output.Count > MaxOutputLines)
            {
                _output.Dequeue();
            }
        }

        try
        {
            _options.OutputSink?.Invoke(text);
        }
        catch (InvalidOperationException)
        {
            // xunit's ITestOutputHelper throws once the test has finished
        }
    }

    /// <summary>The dotnet muxer that runs this process (or DOTNET_HOST_PATH, or DOTNET_ROOT/dotnet, or PATH).</summary>
    public static string DotnetHostPath()
    {
        var hostPath = System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath))
        {
            return hostPath;
        }

        var self = System.Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return self;
        }

        var root = System.Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root))
        {
            var candidate = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return "dotnet";
    }

    public static int GetFreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static bool HasExitedSafe(Process process)
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    private static async Task DeleteDirectoryAsync(string path)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 4)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
            catch (UnauthorizedAccessException) when (attempt < 4)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }
}
