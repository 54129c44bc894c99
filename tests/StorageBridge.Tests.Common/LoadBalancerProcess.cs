using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StorageBridge.Tests.Support;

namespace StorageBridge.Tests;

/// <summary>
/// A real HAProxy (Debian's <c>haproxy</c>) on a free loopback port in front of several instances: round-robin, no
/// affinity, a health check on <c>/healthz</c> twice a second, and a retry on another server when a connection to a
/// dead one fails (no request byte was sent then, so it is safe for PATCH and POST). Started with its own config and
/// pid file in a temp folder; killed by PID on dispose.
/// </summary>
public sealed class LoadBalancerProcess : IAsyncDisposable
{
    private readonly TempDirectory _folder = new("sb-haproxy");
    private readonly StringBuilder _output = new();
    private Process? _process;

    private LoadBalancerProcess(int port) => Port = port;

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The haproxy binary, or null when it is not installed.</summary>
    public static string? Executable =>
        new[] { "/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy" }.FirstOrDefault(File.Exists);

    public static async Task<LoadBalancerProcess> StartAsync(IReadOnlyList<int> backendPorts, CancellationToken cancellationToken)
    {
        var executable = Executable ?? throw new InvalidOperationException(
            "haproxy is not installed; ./test.sh installs it (emulators/apt-packages.txt).");
        var balancer = new LoadBalancerProcess(FreePort());
        var config = balancer._folder.Combine("haproxy.cfg");
        await File.WriteAllTextAsync(config, balancer.Config(backendPorts), cancellationToken).ConfigureAwait(false);

        var check = await ChildProcess.RunAsync(executable, ["-c", "-f", config], balancer._folder.Path, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        if (check.ExitCode != 0)
        {
            throw new InvalidOperationException($"haproxy refused its configuration: {check}");
        }

        var start = new ProcessStartInfo
        {
            FileName = executable,
            WorkingDirectory = balancer._folder.Path,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-db", "-f", config })
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => balancer.Append(e.Data);
        process.ErrorDataReceived += (_, e) => balancer.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        balancer._process = process;

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, balancer.Port, cancellationToken).ConfigureAwait(false);
                return balancer;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                await balancer.DisposeAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"haproxy did not listen on {balancer.Port}: {balancer.Output}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

        _folder.Dispose();
    }

    private string Config(IReadOnlyList<int> backendPorts)
    {
        var config = new StringBuilder();
        config.AppendLine("global");
        config.AppendLine(CultureInfo.InvariantCulture, $"    pidfile {_folder.Combine("haproxy.pid")}");
        config.AppendLine("    maxconn 2000");
        config.AppendLine("defaults");
        config.AppendLine("    mode http");
        config.AppendLine("    timeout connect 2s");
        config.AppendLine("    timeout client 120s");
        config.AppendLine("    timeout server 120s");
        config.AppendLine("    retries 3");
        config.AppendLine("    option redispatch 1");
        config.AppendLine("    retry-on conn-failure"); // only when nothing was sent: never replays a request body
        config.AppendLine("frontend bridge");
        config.AppendLine(CultureInfo.InvariantCulture, $"    bind 127.0.0.1:{Port}");
        config.AppendLine("    default_backend instances");
        config.AppendLine("backend instances");
        config.AppendLine("    balance roundrobin");
        config.AppendLine("    option httpchk GET /healthz");
        for (var i = 0; i < backendPorts.Count; i++)
        {
            config.AppendLine(CultureInfo.InvariantCulture, $"    server i{i} 127.0.0.1:{backendPorts[i]} check inter 500ms fall 1 rise 1");
        }

        return config.ToString();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 200_000)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
