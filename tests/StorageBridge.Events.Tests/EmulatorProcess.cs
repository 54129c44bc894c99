using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace StorageBridge.Events.Tests;

/// <summary>An emulator started by the tests on 127.0.0.1, killed by PID (its process tree) on dispose.</summary>
internal sealed class EmulatorProcess : IDisposable
{
    private readonly StringBuilder _output = new();
    private readonly Process _process;

    private EmulatorProcess(Process process) => _process = process;

    public static EmulatorProcess Start(string fileName, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
        var emulator = new EmulatorProcess(process);
        process.OutputDataReceived += (_, e) => emulator.Append(e.Data);
        process.ErrorDataReceived += (_, e) => emulator.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return emulator;
    }

    public bool HasExited => _process.HasExited;

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

    /// <summary>Waits until <paramref name="port"/> accepts TCP connections (or the process exits, or 60 s pass).</summary>
    public async Task WaitForPortAsync(int port, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{what} exited with code {_process.ExitCode} during start-up:\n{Output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"{what} did not listen on port {port} within 60 s:\n{Output}");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(2_000))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
