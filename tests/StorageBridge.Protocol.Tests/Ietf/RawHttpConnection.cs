using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace StorageBridge.Protocol.Tests.Ietf;

/// <summary>One HTTP/1.1 response as read off the wire (interim responses included).</summary>
public sealed record RawResponse(int Status, string Reason, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string? Header(string name)
    {
        var values = Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
        return values.Count == 0 ? null : string.Join(", ", values);
    }

    public override string ToString() =>
        $"{Status} {Reason}\n{string.Join("\n", Headers.Select(h => $"{h.Key}: {h.Value}"))}";
}

/// <summary>
/// A raw TCP connection to the test server: sends exact request bytes and parses responses by hand, so tests can see
/// 1xx responses, send part of a body, keep a request open or drop the connection. Every read has a deadline.
/// </summary>
public sealed class RawHttpConnection : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawHttpConnection(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _client.ReceiveTimeout = (int)DefaultTimeout.TotalMilliseconds;
        _client.SendTimeout = (int)DefaultTimeout.TotalMilliseconds;
    }

    public static async Task<RawHttpConnection> ConnectAsync(int port)
    {
        var client = new TcpClient { NoDelay = true };
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await client.ConnectAsync("127.0.0.1", port, timeout.Token);
        return new RawHttpConnection(client);
    }

    /// <summary>Request line and headers (Host added), terminated by an empty line. Header lines are sent verbatim.</summary>
    public static byte[] Head(string method, string target, params string[] headerLines)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        foreach (var line in headerLines)
        {
            text.Append(line).Append("\r\n");
        }

        text.Append("\r\n");
        return Encoding.Latin1.GetBytes(text.ToString());
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await _stream.WriteAsync(bytes, timeout.Token);
        await _stream.FlushAsync(timeout.Token);
    }

    /// <summary>Reads one response (1xx included). HEAD-style and 1xx/204/304 responses have no body.</summary>
    public async Task<RawResponse> ReadResponseAsync(bool bodyless = false, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var statusLine = await ReadLineAsync(cts.Token);
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Not a status line: '{statusLine}'");
        }

        var status = int.Parse(parts[1], CultureInfo.InvariantCulture);
        var headers = new List<KeyValuePair<string, string>>();
        while (true)
        {
            var line = await ReadLineAsync(cts.Token);
            if (line.Length == 0)
            {
                break;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }

        var response = new RawResponse(status, parts.Length > 2 ? parts[2] : "", headers, []);
        if (bodyless || status < 200 || status is 204 or 304)
        {
            return response;
        }

        if (response.Header("Content-Length") is { } lengthText)
        {
            var body = new byte[int.Parse(lengthText, CultureInfo.InvariantCulture)];
            await ReadExactlyAsync(body, cts.Token);
            return response with { Body = body };
        }

        if (response.Header("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            using var body = new MemoryStream();
            while (true)
            {
                var sizeLine = await ReadLineAsync(cts.Token);
                var size = int.Parse(sizeLine.Split(';')[0].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    while ((await ReadLineAsync(cts.Token)).Length > 0)
                    {
                    }

                    break;
                }

                var chunk = new byte[size];
                await ReadExactlyAsync(chunk, cts.Token);
                body.Write(chunk);
                await ReadLineAsync(cts.Token);
            }

            return response with { Body = body.ToArray() };
        }

        return response;
    }

    /// <summary>Reads responses until a final (non-1xx) one; returns all of them in order.</summary>
    public async Task<List<RawResponse>> ReadUntilFinalAsync(bool bodyless = false, TimeSpan? timeout = null)
    {
        var responses = new List<RawResponse>();
        while (true)
        {
            var response = await ReadResponseAsync(bodyless, timeout);
            responses.Add(response);
            if (response.Status >= 200)
            {
                return responses;
            }
        }
    }

    /// <summary>Drops the connection at once (RST where the platform allows), like a client that lost its network.</summary>
    public void Abort()
    {
        try
        {
            _client.Client.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }

        _client.Close();
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        while (true)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken);
            }

            var b = _buffer[_start++];
            if (b == '\n')
            {
                if (line.Count > 0 && line[^1] == '\r')
                {
                    line.RemoveAt(line.Count - 1);
                }

                return Encoding.Latin1.GetString(line.ToArray());
            }

            line.Add(b);
        }
    }

    private async Task ReadExactlyAsync(byte[] destination, CancellationToken cancellationToken)
    {
        var done = 0;
        while (done < destination.Length)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken);
            }

            var count = Math.Min(_end - _start, destination.Length - done);
            Buffer.BlockCopy(_buffer, _start, destination, done, count);
            _start += count;
            done += count;
        }
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await _stream.ReadAsync(_buffer, cancellationToken);
        if (_end == 0)
        {
            throw new EndOfStreamException("The server closed the connection.");
        }
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
