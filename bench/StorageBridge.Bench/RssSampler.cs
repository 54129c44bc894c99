using System.Globalization;

namespace StorageBridge.Bench;

/// <summary>Polls /proc/{pid}/status every 50 ms; keeps the largest VmRSS and the last VmHWM (kernel's own peak).</summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private bool _stopped;

    public RssSampler(int pid)
    {
        _pid = pid;
        StartRssBytes = Read(pid).Rss;
        _loop = Task.Run(LoopAsync);
    }

    public long StartRssBytes { get; }

    public long MaxSampledRssBytes { get; private set; }

    public long HighWaterMarkBytes { get; private set; }

    public int Samples { get; private set; }

    /// <summary>Reads VmRSS and VmHWM (bytes) from /proc/{pid}/status; zeros when unavailable.</summary>
    public static (long Rss, long Hwm) Read(int pid)
    {
        try
        {
            long rss = 0, hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = ParseKb(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = ParseKb(line);
                }
            }

            return (rss, hwm);
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _stop.CancelAsync();
        await _loop;
        Sample();
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        try
        {
            do
            {
                Sample();
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Sample()
    {
        var (rss, hwm) = Read(_pid);
        if (rss == 0)
        {
            return;
        }

        Samples++;
        MaxSampledRssBytes = Math.Max(MaxSampledRssBytes, rss);
        HighWaterMarkBytes = Math.Max(HighWaterMarkBytes, hwm);
    }

    private static long ParseKb(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture) * 1024;
    }
}
