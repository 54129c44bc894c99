using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using StorageBridge.Tests;

namespace StorageBridge.Backends.S3.Tests.Deploy;

/// <summary>
/// The published Host run as the container runs it: the ENTRYPOINT's command with the container paths mapped, in the
/// WORKDIR (mapped to the volume folder), with exactly the given environment (nothing inherited but PATH, HOME and
/// DOTNET_ROOT, which the image has too). Killed by its own process id on dispose.
/// </summary>
public sealed class ContainerProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly Lock outputLock = new();
    private readonly List<string> output = [];

    private ContainerProcess(Process process, Action<string> sink)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => Keep(e.Data, sink);
        process.ErrorDataReceived += (_, e) => Keep(e.Data, sink);
    }

    public string Output
    {
        get
        {
            lock (outputLock)
            {
                return string.Join('\n', output);
            }
        }
    }

    public static ContainerProcess Start(IReadOnlyList<string> command, string workingDirectory, IReadOnlyDictionary<string, string> environment, Action<string> sink)
    {
        var start = new ProcessStartInfo
        {
            FileName = command[0] == "dotnet" ? HostProcess.DotnetHostPath() : command[0],
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        var inherited = new[] { "PATH", "HOME", "DOTNET_ROOT" }
            .Select(k => (Key: k, Value: System.Environment.GetEnvironmentVariable(k)))
            .Where(p => p.Value is not null)
            .ToList();
        start.Environment.Clear();
        foreach (var (key, value) in inherited)
        {
            start.Environment[key] = value;
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var container = new ContainerProcess(new Process { StartInfo = start, EnableRaisingEvents = true }, sink);
        container.process.Start();
        container.process.BeginOutputReadLine();
        container.process.BeginErrorReadLine();
        return container;
    }

    /// <summary>Polls <paramref name="health"/> until it answers 200; fails when the process exits first.</summary>
    public async Task WaitUntilHealthyAsync(HttpClient client, Uri health, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                process.WaitForExit();
                throw new InvalidOperationException(Describe($"The Host exited with {process.ExitCode} before {health} answered."));
            }

            try
            {
                using var response = await client.GetAsync(health, cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException(Describe($"{health} did not answer 200 within {timeout.TotalSeconds:0} s."));
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    public string Describe(string message) => $"{message}\n--- Host output ---\n{Output}\n--- end ---";

    /// <summary>An IPv4 address of this machine that is not loopback, or null when it has none.</summary>
    public static IPAddress? NonLoopbackAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a) && !a.ToString().StartsWith("169.254.", StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync(CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            // never started or already gone
        }

        process.Dispose();
    }

    private void Keep(string? line, Action<string> sink)
    {
        if (line is null)
        {
            return;
        }

        lock (outputLock)
        {
            output.Add(line);
        }

        try
        {
            sink(line);
        }
        catch (InvalidOperationException)
        {
            // the test has finished
        }
    }
}
