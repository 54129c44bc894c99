using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using StorageBridge.Tests;

namespace StorageBridge.Backends.AzureBlob.Tests;

/// <summary>
/// Azurite's blob service (emulators/azurite, pinned by package-lock.json) started by the tests on 127.0.0.1 and a
/// free port, in memory, and killed by PID on dispose. With STORAGEBRIDGE_AZURE_CONNECTIONSTRING set, the tests
/// run against that real account instead (in a fresh container per run, deleted afterwards).
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public const string EnvironmentVariable = "STORAGEBRIDGE_AZURE_CONNECTIONSTRING";

    // Azurite's well-known development account (published in its README; not a secret).
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly StringBuilder output = new();
    private Process? process;

    public string ConnectionString { get; private set; } = "";

    /// <summary>Whether the tests talk to Azurite (false: a real account from the environment).</summary>
    public bool IsEmulator { get; private set; }

    /// <summary>Container shared by the tests of this run; tests use fresh keys inside it.</summary>
    public string ContainerName { get; } = "sbtest-" + Guid.NewGuid().ToString("N")[..12];

    public async Task InitializeAsync()
    {
        var configured = ExternalServices.Get(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            ConnectionString = configured;
        }
        else
        {
            IsEmulator = true;
            var port = FreePort();
            await StartAzuriteAsync(port);
            ConnectionString =
                $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;";
        }

        await CreateContainer().CreateIfNotExistsAsync();
    }

    /// <summary>A client for the shared container; <paramref name="handler"/> replaces the HTTP transport (fault injection).</summary>
    public BlobContainerClient CreateContainer(HttpMessageHandler? handler = null, string? containerName = null)
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(50);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        if (handler is not null)
        {
            options.Transport = new HttpClientTransport(handler);
        }

        return new BlobContainerClient(ConnectionString, containerName ?? ContainerName, options);
    }

    public AzureBlobBackend CreateBackend(AzureBlobBackendOptions? options = null, HttpMessageHandler? handler = null) =>
        new(CreateContainer(handler), options ?? new AzureBlobBackendOptions { MinBlockSize = 64 * 1024 });

    public async Task DisposeAsync()
    {
        if (!IsEmulator)
        {
            await CreateContainer().DeleteIfExistsAsync();
            return;
        }

        if (process is not null)
        {
            try
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            process.Dispose();
        }
    }

    private async Task StartAzuriteAsync(int port)
    {
        var folder = Path.Combine(RepositoryLayout.Root, "emulators", "azurite");
        var executable = Path.Combine(folder, "node_modules", ".bin", "azurite-blob");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"{executable} is missing: run 'npm ci' in {folder} (./test.sh does).");
        }

        var start = new ProcessStartInfo
        {
            FileName = executable,
            WorkingDirectory = folder,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // --skipApiVersionCheck: the current SDK sends a newer service version than Azurite 3.35 accepts.
        foreach (var argument in new[] { "--silent", "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--skipApiVersionCheck" })
        {
            start.ArgumentList.Add(argument);
        }

        process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Ready when it answers HTTP at all (any status: the request is unauthenticated).
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {process.ExitCode} during start-up:\n{Output()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/devstoreaccount1?comp=list"));
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
            catch (TaskCanceledException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"Azurite did not answer on port {port} within 30 s:\n{Output()}");
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private string Output()
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
