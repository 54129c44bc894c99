using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using StorageBridge.Tests;

namespace StorageBridge.Backends.S3.Tests.Deploy;

/// <summary>
/// Debian's nginx running deploy/nginx.conf with only its addresses changed: the compose service names of the
/// upstreams become the replicas' addresses, the listening port a free loopback one, and logs and temporary files go
/// to a temporary folder (the access log records each request's upstream). Stopped with its workers on dispose.
/// </summary>
public sealed class NginxProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly string directory;

    private NginxProcess(Process process, string directory, Uri baseAddress)
    {
        this.process = process;
        this.directory = directory;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>One line per request: method, status, the upstream address that served it.</summary>
    public string[] AccessLog => File.ReadAllLines(Path.Combine(directory, "access.log"));

    public string ErrorLog => File.Exists(Path.Combine(directory, "error.log")) ? File.ReadAllText(Path.Combine(directory, "error.log")) : "";

    public static async Task<NginxProcess> StartAsync(string configPath, IReadOnlyDictionary<string, string> upstreams, CancellationToken cancellationToken)
    {
        var binary = new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nginx is not installed: `apt-get install nginx` (emulators/apt-packages.txt lists it; ./test.sh installs it).");
        var directory = Path.Combine(Path.GetTempPath(), "storagebridge-nginx-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var port = HostProcess.GetFreeTcpPort();

        var config = File.ReadAllText(configPath);
        foreach (var (service, address) in upstreams)
        {
            config = ReplaceOnce(config, $"server {service} ", $"server {address} ");
        }

        config = ReplaceOnce(config, "listen 8080;", $"listen 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)};");
        config = ReplaceOnce(config, "http {", $$"""
            http {
              log_format upstreams '$request_method $status $upstream_addr';
              access_log {{directory}}/access.log upstreams;
              client_body_temp_path {{directory}}/body;
              proxy_temp_path {{directory}}/proxy;
              fastcgi_temp_path {{directory}}/fastcgi;
              uwsgi_temp_path {{directory}}/uwsgi;
              scgi_temp_path {{directory}}/scgi;
            """);
        var configFile = Path.Combine(directory, "nginx.conf");
        await File.WriteAllTextAsync(configFile, config, cancellationToken);

        string[] common = ["-p", directory, "-c", configFile, "-e", Path.Combine(directory, "error.log")];
        var check = await ChildProcess.RunAsync(binary, [.. common, "-t", "-g", $"pid {directory}/nginx.pid;"], directory, TimeSpan.FromSeconds(30), cancellationToken, new Dictionary<string, string?>());
        if (check.ExitCode != 0)
        {
            throw new InvalidOperationException($"nginx -t rejected deploy/nginx.conf (addresses substituted): {check}");
        }

        var start = new ProcessStartInfo(binary) { UseShellExecute = false, WorkingDirectory = directory };
        foreach (var argument in (string[])[.. common, "-g", $"daemon off; pid {directory}/nginx.pid;"])
        {
            start.ArgumentList.Add(argument);
        }

        var nginx = new NginxProcess(Process.Start(start)!, directory, new Uri($"http://127.0.0.1:{port}/"));
        for (var watch = Stopwatch.StartNew(); ; await Task.Delay(100, cancellationToken))
        {
            if (nginx.process.HasExited)
            {
                var log = nginx.ErrorLog;
                await nginx.DisposeAsync();
                throw new InvalidOperationException($"nginx exited with {nginx.process.ExitCode}: {log}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port, cancellationToken);
                return nginx;
            }
            catch (SocketException) when (watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                // not listening yet
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true); // the master and its workers
            }

            await process.WaitForExitAsync(CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
        }

        process.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string ReplaceOnce(string text, string from, string to)
    {
        var first = text.IndexOf(from, StringComparison.Ordinal);
        if (first < 0 || text.IndexOf(from, first + 1, StringComparison.Ordinal) >= 0)
        {
            throw new InvalidDataException($"deploy/nginx.conf should contain '{from}' exactly once.");
        }

        return text.Replace(from, to, StringComparison.Ordinal);
    }
}
