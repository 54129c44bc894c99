using System.Collections.Concurrent;
using System.Text.Json;
using StorageBridge.Tests;

namespace StorageBridge.Protocol.Tests.Clients;

/// <summary>One Host process and a directory of deterministic source files shared by the tus-js-client tests.</summary>
public sealed class TusJsClientFixture : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, Lazy<Task<SourceFile>>> _files = new();
    private HostProcess? _host;

    public string FilesDirectory { get; } = Path.Combine(Path.GetTempPath(), "storagebridge-tusjs-" + Guid.NewGuid().ToString("N"));

    public HostProcess Host => _host ?? throw new InvalidOperationException("fixture not initialized");

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(2) };

    public Uri Endpoint => new(Host.BaseAddress, "uploads/default");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(FilesDirectory);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _host = await HostProcess.StartAsync(
            new HostProcessOptions
            {
                LogLevel = "Information",
                // A target with a per-request limit, for the upload page (it must cut its chunks to fit).
                Environment = new Dictionary<string, string?>
                {
                    // The upload page tests SIGKILL and restart this Host mid-request: with the same instance id the
                    // restarted process takes over its own leases at once instead of waiting out LeaseDuration (15 s).
                    ["StorageBridge__InstanceId"] = "tusjs-" + Guid.NewGuid().ToString("N"),
                    ["StorageBridge__Targets__limited__Root"] = Path.Combine(FilesDirectory, "limited"),
                    ["StorageBridge__Targets__limited__MaxAppendSize"] = "1MiB",
                },
            },
            cts.Token);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (Directory.Exists(FilesDirectory))
        {
            Directory.Delete(FilesDirectory, recursive: true);
        }
    }

    /// <summary>The PRNG seed of the source file of a given size.</summary>
    public static ulong SeedFor(long size) => 0xC0FFEE00UL + (ulong)size;

    /// <summary>A file of <paramref name="size"/> deterministic bytes (seeded by its size), created once.</summary>
    public Task<SourceFile> GetFileAsync(long size) => GetFileAsync($"source-{size}.bin", size, SeedFor(size));

    /// <summary>
    /// A file of deterministic bytes under its own name, created once (the upload page and Resumable.js identify files
    /// by name and size, so tests that must not meet each other's uploads use their own names).
    /// </summary>
    public Task<SourceFile> GetFileAsync(string name, long size, ulong seed) =>
        _files.GetOrAdd(name, n => new Lazy<Task<SourceFile>>(() => CreateFileAsync(n, size, seed))).Value;

    private async Task<SourceFile> CreateFileAsync(string name, long size, ulong seed)
    {
        var path = Path.Combine(FilesDirectory, name);
        var sha = await DeterministicData.WriteFileAsync(path, seed, size, CancellationToken.None);
        return new SourceFile(path, size, sha);
    }
}

public sealed record SourceFile(string Path, long Size, string Sha256);

/// <summary>The JSON line tus-upload.mjs prints.</summary>
public sealed record TusUploadOutput(string Url, long BytesUploaded, bool Aborted, long BytesAcknowledged)
{
    public static TusUploadOutput Parse(string stdout)
    {
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
            ?? throw new InvalidOperationException("tus-upload.mjs printed nothing on stdout");
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        return new TusUploadOutput(
            root.GetProperty("url").GetString() ?? throw new InvalidOperationException("url is null: " + line),
            root.GetProperty("bytesUploaded").GetInt64(),
            root.TryGetProperty("aborted", out var aborted) && aborted.GetBoolean(),
            root.TryGetProperty("bytesAcknowledged", out var acknowledged) ? acknowledged.GetInt64() : 0);
    }
}

/// <summary>Runs tests/clients/tus-upload.mjs with the real tus-js-client.</summary>
public static class TusJsClient
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    /// <summary>Fails with a clear message when `npm ci` has not been run for tests/clients.</summary>
    public static void EnsureInstalled()
    {
        var marker = Path.Combine(RepositoryLayout.ClientsDirectory, "node_modules", "tus-js-client", "package.json");
        Assert.True(
            File.Exists(marker),
            $"{Path.Combine(RepositoryLayout.ClientsDirectory, "node_modules")} is missing: run `npm ci --prefix tests/clients` " +
            "(the README's test command does this) before running the tus-js-client tests.");
    }

    public static async Task<ChildProcessResult> RunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        EnsureInstalled();
        var script = Path.Combine(RepositoryLayout.ClientsDirectory, "tus-upload.mjs");
        return await ChildProcess.RunAsync("node", [script, .. arguments], RepositoryLayout.ClientsDirectory, Timeout, cancellationToken);
    }

    public static string ChunkArgument(long? chunkSize) => chunkSize is { } c ? c.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";
}
