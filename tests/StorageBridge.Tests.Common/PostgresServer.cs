using System.Globalization;

namespace StorageBridge.Tests;

/// <summary>
/// A real PostgreSQL server from Debian's packages (initdb + pg_ctl) in a temporary folder on a free loopback port, trust
/// authentication for the superuser <c>postgres</c>. PostgreSQL refuses to run as root, so as root the folder is handed
/// to the <c>postgres</c> account and the tools run through <c>runuser</c>. <see cref="CrashAsync"/> stops it the way a
/// power cut would (immediate mode: no checkpoint, crash recovery on the next start); <see cref="StartAsync()"/> brings
/// it back on the same port and data.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(90);

    private readonly string _root;
    private readonly string _bin;
    private readonly bool _asRoot;
    private bool _running;

    private PostgresServer(string root, string bin, bool asRoot, int port)
    {
        _root = root;
        _bin = bin;
        _asRoot = asRoot;
        Port = port;
    }

    public int Port { get; }

    public string DataDirectory => Path.Combine(_root, "db");

    public string LogPath => Path.Combine(_root, "log");

    /// <summary>Where the server binaries are: <c>POSTGRES_BIN</c>, else the newest /usr/lib/postgresql/N/bin.</summary>
    public static string? FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("POSTGRES_BIN") is { Length: > 0 } configured)
        {
            return configured;
        }

        const string Debian = "/usr/lib/postgresql";
        return Directory.Exists(Debian)
            ? Directory.GetDirectories(Debian)
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0)
                .FirstOrDefault()
            : null;
    }

    /// <summary>Creates a cluster in a new temp folder and starts it.</summary>
    public static async Task<PostgresServer> StartNewAsync(CancellationToken cancellationToken = default)
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries not found (install the Debian package 'postgresql', listed in emulators/apt-packages.txt, or set POSTGRES_BIN).");
        var root = Path.Combine(Path.GetTempPath(), "sb-postgres-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var server = new PostgresServer(root, bin, Environment.UserName == "root", HostProcess.GetFreeTcpPort());
        try
        {
            if (server._asRoot)
            {
                await server.RunAsync("chown", ["-R", "postgres:postgres", root], asPostgres: false, cancellationToken).ConfigureAwait(false);
            }

            // C locale and UTF-8 whatever the machine's locale; no fsync of the fresh cluster's files (it is thrown away).
            await server.RunToolAsync("initdb", ["-D", server.DataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"], cancellationToken).ConfigureAwait(false);
            await server.StartAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Npgsql connection string for <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database}";

    /// <summary>Starts the (stopped or crashed) server on its port and waits until it accepts connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var options = string.Create(CultureInfo.InvariantCulture, $"-k {_root} -p {Port} -h 127.0.0.1 -c max_connections=200");
        await RunToolAsync("pg_ctl", ["-D", DataDirectory, "-o", options, "-l", LogPath, "-w", "-t", "60", "start"], cancellationToken).ConfigureAwait(false);
        _running = true;
    }

    /// <summary>Stops the server at once, without a checkpoint (SIGQUIT to every backend): clients see their connections drop.</summary>
    public async Task CrashAsync(CancellationToken cancellationToken = default)
    {
        await RunToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], cancellationToken).ConfigureAwait(false);
        _running = false;
    }

    /// <summary>Creates a database (createdb as the superuser).</summary>
    public Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default) =>
        RunToolAsync("createdb", ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", name], cancellationToken);

    /// <summary>Runs SQL through psql as the superuser and returns its unaligned output.</summary>
    public async Task<string> PsqlAsync(string database, string sql, CancellationToken cancellationToken = default)
    {
        var result = await RunToolAsync(
            "psql",
            ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-A", "-t", "-c", sql],
            cancellationToken).ConfigureAwait(false);
        return result.StandardOutput.TrimEnd('\n');
    }

    public string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    public async ValueTask DisposeAsync()
    {
        if (_running)
        {
            try
            {
                await CrashAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                // Best effort: the folder goes anyway.
            }
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private Task<ChildProcessResult> RunToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        RunAsync(Path.Combine(_bin, tool), arguments, asPostgres: _asRoot, cancellationToken);

    private async Task<ChildProcessResult> RunAsync(string program, IReadOnlyList<string> arguments, bool asPostgres, CancellationToken cancellationToken)
    {
        var (file, args) = asPostgres ? ("runuser", (IReadOnlyList<string>)["-u", "postgres", "--", program, .. arguments]) : (program, arguments);
        var result = await ChildProcess.RunAsync(file, args, _root, ToolTimeout, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} failed: {result}\n--- server log ---\n{ReadLog()}");
        }

        return result;
    }
}
