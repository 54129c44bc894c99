using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace StorageBridge.Bench.Azure;

/// <summary>Azurite and cosmosdb-server as child processes (installed by `npm ci` in emulators/azurite and emulators/cosmosdb).</summary>
internal static class Emulators
{
    // Azurite's well-known development account (published in its README; not a secret).
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public static string RepositoryRoot()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "StorageBridge.sln")))
        {
            root = Path.GetDirectoryName(root.TrimEnd('/')) ?? throw new InvalidOperationException("StorageBridge.sln not found");
        }

        return root;
    }

    public static string AzuriteConnectionString(int port) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;";

    /// <summary>Azurite's blob service in memory on a free loopback port; ready once it answers HTTP.</summary>
    public static async Task<AzuriteProcess> StartAzuriteAsync(string root)
    {
        var folder = Path.Combine(root, "emulators", "azurite");
        var executable = Path.Combine(folder, "node_modules", ".bin", "azurite-blob");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"{executable} is missing: run 'npm ci' in {folder}.");
        }

        var port = FreePort();
        var start = new ProcessStartInfo(executable) { WorkingDirectory = folder, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--silent", "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--skipApiVersionCheck" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var deadline = Stopwatch.StartNew(); deadline.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(100))
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/devstoreaccount1?comp=list"));
                return new AzuriteProcess(process, port);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
        }

        process.Kill(entireProcessTree: true);
        throw new TimeoutException("Azurite did not start within 30 s.");
    }

    /// <summary>emulators/cosmosdb/start.js on a free port (plain HTTP, Gateway mode); exits with our stdin.</summary>
    public static Process StartCosmos(string root, out Uri endpoint)
    {
        var start = new ProcessStartInfo("node", ["start.js", "--port", "0", "--exit-with-stdin"])
        {
            WorkingDirectory = Path.Combine(root, "emulators", "cosmosdb"),
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("cosmosdb-server did not start (npm ci in emulators/cosmosdb?)");
        endpoint = new Uri(Regex.Match(line, @"http://127\.0\.0\.1:\d+/?").Value);
        return process;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

internal sealed class AzuriteProcess(Process process, int port) : IDisposable
{
    public int Port => port;

    public void Dispose()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit(5_000);
        process.Dispose();
    }
}
