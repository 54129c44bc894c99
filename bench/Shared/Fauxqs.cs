using System.Diagnostics;
using System.Text.RegularExpressions;

namespace StorageBridge.Bench;

/// <summary>Starts the repository's fauxqs S3 emulator (emulators/fauxqs) on a free loopback port.</summary>
internal static class Fauxqs
{
    public static Process Start(out string serviceUrl)
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "StorageBridge.sln")))
        {
            root = Path.GetDirectoryName(root.TrimEnd('/')) ?? throw new InvalidOperationException("StorageBridge.sln not found");
        }

        var start = new ProcessStartInfo("node", ["start.mjs", "0"])
        {
            WorkingDirectory = Path.Combine(root, "emulators", "fauxqs"),
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("fauxqs did not start (npm ci in emulators/fauxqs?)");
        serviceUrl = Regex.Match(line, @"http://127\.0\.0\.1:\d+").Value;
        return process;
    }
}
