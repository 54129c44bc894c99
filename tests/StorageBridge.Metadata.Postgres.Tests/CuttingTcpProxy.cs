using System.Net;
using System.Net.Sockets;
using System.Text;

namespace StorageBridge.Metadata.Postgres.Tests;

/// <summary>
/// A TCP forwarder between the store and PostgreSQL that can lose one answer: after <see cref="CutAnswerTo"/>, the next
/// client message containing the marker (the statement's SQL text, sent in the Parse message) goes to the server, and
/// when the server's answer arrives (sent after the implicit transaction committed) both connections are closed
/// instead of passing it on. The write is in place; the client only sees its connection drop.
/// </summary>
public sealed class CuttingTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private byte[]? _marker;
    private int _cuts;

    public CuttingTcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many answers were cut so far.</summary>
    public int Cuts => Volatile.Read(ref _cuts);

    /// <summary>Cuts the answer to the next client message that contains <paramref name="sqlFragment"/>.</summary>
    public void CutAnswerTo(string sqlFragment) => Volatile.Write(ref _marker, Encoding.UTF8.GetBytes(sqlFragment));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => PipeAsync(client));
        }
    }

    private async Task PipeAsync(TcpClient client)
    {
        using var server = new TcpClient();
        using (client)
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                var doomed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using var cut = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var upstream = CopyAsync(client.GetStream(), server.GetStream(), chunk =>
                {
                    if (Volatile.Read(ref _marker) is { } marker && chunk.AsSpan().IndexOf(marker) >= 0
                        && Interlocked.CompareExchange(ref _marker, null, marker) == marker)
                    {
                        doomed.TrySetResult();
                    }

                    return true;
                }, cut.Token);
                var downstream = CopyAsync(server.GetStream(), client.GetStream(), _ =>
                {
                    if (!doomed.Task.IsCompleted)
                    {
                        return true;
                    }

                    Interlocked.Increment(ref _cuts);
                    return false;
                }, cut.Token);
                await Task.WhenAny(upstream, downstream);
                await cut.CancelAsync();
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>Copies until either side closes or <paramref name="forward"/> says no (then the chunk is dropped and copying ends).</summary>
    private static async Task CopyAsync(NetworkStream from, NetworkStream to, Func<byte[], bool> forward, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, cancellationToken);
                if (read == 0 || !forward(buffer[..read]))
                {
                    return;
                }

                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
