using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace StorageBridge.Protocol.Tests;

/// <summary>One parsed HTTP/1.1 response message (interim or final) exactly as it appeared on the wire.</summary>
internal sealed class RawHttpMessage
{
    public required int StatusCode { get; init; }
    public required string ReasonPhrase { get; init; }
    public required IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; }
    public required string RawHead { get; init; }
    public byte[] Body { get; init; } = [];

    public bool IsInterim => StatusCode is >= 100 and < 200;

    public string BodyText => Encoding.ASCII.GetString(Body);

    public string? Header(string name)
    {
        var values = Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
        return values.Count switch
        {
            0 => null,
            1 => values[0],
            _ => throw new FormatException($"Header {name} appears {values.Count} times in:\n{RawHead}"),
        };
    }

    public override string ToString() => RawHead;
}

/// <summary>The 1xx responses and the final response of one request.</summary>
internal sealed record RawHttpExchange(IReadOnlyList<RawHttpMessage> Interim, RawHttpMessage Final);

/// <summary>
/// A raw-socket HTTP/1.1 client for what HttpClient hides: it writes exact request bytes (part of a body, a request kept
/// open, a dropped connection) and parses response bytes strictly, 1xx included, so any interleaving, duplication or
/// garbage on the wire fails loudly. Every read has a timeout.
/// </summary>
internal sealed partial class RawHttpConnection : IAsyncDisposable
{
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    private readonly TcpClient? _client;
    private readonly Stream _stream;
    private readonly MemoryStream _wire = new();
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;
    private bool _eof;
    private TimeSpan _timeout = ReadTimeout;

    private RawHttpConnection(TcpClient? client, Stream stream)
    {
        _client = client;
        _stream = stream;
    }

    /// <summary>Every byte received so far, for assertions on the exact wire.</summary>
    public byte[] ReceivedBytes => _wire.ToArray();

    public string ReceivedText => Encoding.ASCII.GetString(ReceivedBytes);

    public static async Task<RawHttpConnection> ConnectAsync(int port)
    {
        var client = new TcpClient { NoDelay = true };
        using var timeout = new CancellationTokenSource(ReadTimeout);
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        return new RawHttpConnection(client, client.GetStream());
    }

    /// <summary>Re-parses captured bytes from scratch into exchanges; fails on any trailing or malformed byte.</summary>
    public static async Task<IReadOnlyList<RawHttpExchange>> ParseAllAsync(byte[] wire)
    {
        await using var replay = new RawHttpConnection(null, new MemoryStream(wire, writable: false));
        var exchanges = new List<RawHttpExchange>();
        while (!await replay.AtEndAsync())
        {
            exchanges.Add(await replay.ReadExchangeAsync());
        }

        return exchanges;
    }

    /// <summary>Request line and header lines (Host added, sent verbatim), terminated by an empty line.</summary>
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

    public Task SendAsync(string ascii) => SendAsync(Encoding.ASCII.GetBytes(ascii));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var timeout = new CancellationTokenSource(ReadTimeout);
        await _stream.WriteAsync(bytes, timeout.Token);
    }

    /// <summary>Sends one chunk of a chunked request body.</summary>
    public Task SendChunkAsync(ReadOnlyMemory<byte> data)
    {
        var prefix = Encoding.ASCII.GetBytes(data.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n");
        var frame = new byte[prefix.Length + data.Length + 2];
        prefix.CopyTo(frame, 0);
        data.CopyTo(frame.AsMemory(prefix.Length));
        frame[^2] = (byte)'\r';
        frame[^1] = (byte)'\n';
        return SendAsync(frame);
    }

    /// <summary>Half-closes: sends FIN after the bytes already sent (no more request bytes) and keeps reading.</summary>
    public void ShutdownSend() => (_client?.Client ?? throw new InvalidOperationException("Not a socket connection.")).Shutdown(SocketShutdown.Send);

    /// <summary>Closes with a TCP reset, like a client that crashed or lost the network.</summary>
    public void Abort()
    {
        var socket = _client?.Client ?? throw new InvalidOperationException("Not a socket connection.");
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
            // Already closed by the server: closing is all that is left.
        }

        socket.Close();
    }

    /// <summary>
    /// Reads 1xx messages until the final response (1xx bodies are empty by definition). <paramref name="bodyless"/>:
    /// the request was a HEAD, so the final response has no body whatever its headers say.
    /// </summary>
    public async Task<RawHttpExchange> ReadExchangeAsync(bool bodyless = false, TimeSpan? timeout = null)
    {
        var interim = new List<RawHttpMessage>();
        while (true)
        {
            var message = await ReadMessageAsync(bodyless, timeout);
            if (!message.IsInterim)
            {
                return new RawHttpExchange(interim, message);
            }

            interim.Add(message);
        }
    }

    /// <summary>The interim responses and the final one, in wire order.</summary>
    public async Task<List<RawHttpMessage>> ReadUntilFinalAsync(bool bodyless = false, TimeSpan? timeout = null)
    {
        var exchange = await ReadExchangeAsync(bodyless, timeout);
        return [.. exchange.Interim, exchange.Final];
    }

    /// <summary>Reads the next response message: head, then the body framed by Content-Length, chunked or close.</summary>
    public async Task<RawHttpMessage> ReadMessageAsync(bool bodyless = false, TimeSpan? timeout = null)
    {
        _timeout = timeout ?? ReadTimeout;
        var headEnd = await FindAsync("\r\n\r\n"u8.ToArray());
        var rawHead = Encoding.ASCII.GetString(_buffer, _start, headEnd + 4 - _start);
        _start = headEnd + 4;

        var lines = rawHead[..^4].Split("\r\n");
        var status = StatusLine().Match(lines[0]);
        if (!status.Success)
        {
            throw new FormatException($"Malformed status line '{lines[0]}' in:\n{rawHead}");
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var field = HeaderLine().Match(line);
            if (!field.Success)
            {
                throw new FormatException($"Malformed header line '{line}' in:\n{rawHead}");
            }

            headers.Add(new(field.Groups[1].Value, field.Groups[2].Value.Trim(' ', '\t')));
        }

        var message = new RawHttpMessage
        {
            StatusCode = int.Parse(status.Groups[1].Value, CultureInfo.InvariantCulture),
            ReasonPhrase = status.Groups[2].Value,
            Headers = headers,
            RawHead = rawHead,
        };

        if (message.IsInterim || message.StatusCode is 204 or 304 || bodyless)
        {
            if (message.IsInterim && (message.Header("Content-Length") is not null || message.Header("Transfer-Encoding") is not null))
            {
                throw new FormatException($"Framing header on an interim response:\n{rawHead}");
            }

            return message;
        }

        byte[] body;
        if (message.Header("Transfer-Encoding") is { } te)
        {
            Assert.Equal("chunked", te);
            body = await ReadChunkedBodyAsync();
        }
        else if (message.Header("Content-Length") is { } cl)
        {
            body = await ReadExactAsync(int.Parse(cl, NumberStyles.None, CultureInfo.InvariantCulture));
        }
        else
        {
            body = await ReadToEndAsync();
        }

        return new RawHttpMessage
        {
            StatusCode = message.StatusCode,
            ReasonPhrase = message.ReasonPhrase,
            Headers = headers,
            RawHead = rawHead,
            Body = body,
        };
    }

    /// <summary>Reads until the server closes the connection; returns the bytes not yet consumed.</summary>
    public async Task<byte[]> ReadToEndAsync()
    {
        while (!_eof)
        {
            await FillAsync();
        }

        var rest = _buffer.AsSpan(_start, _end - _start).ToArray();
        _start = _end;
        return rest;
    }

    /// <summary>True when the server closes the connection (EOF or reset) within the read timeout.</summary>
    public async Task<bool> WaitForServerCloseAsync()
    {
        try
        {
            var rest = await ReadToEndAsync();
            return rest.Length == 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public ValueTask DisposeAsync()
    {
        _client?.Dispose();
        _stream.Dispose();
        _wire.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<bool> AtEndAsync()
    {
        while (_start == _end && !_eof)
        {
            await FillAsync();
        }

        return _start == _end;
    }

    private async Task<byte[]> ReadChunkedBodyAsync()
    {
        using var body = new MemoryStream();
        while (true)
        {
            var lineEnd = await FindAsync("\r\n"u8.ToArray());
            var sizeLine = Encoding.ASCII.GetString(_buffer, _start, lineEnd - _start);
            _start = lineEnd + 2;
            var size = int.Parse(sizeLine.Split(';')[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                // No trailers expected from these endpoints: the terminating blank line must follow.
                var crlf = await ReadExactAsync(2);
                Assert.Equal("\r\n", Encoding.ASCII.GetString(crlf));
                return body.ToArray();
            }

            body.Write(await ReadExactAsync(size));
            var suffix = await ReadExactAsync(2);
            Assert.Equal("\r\n", Encoding.ASCII.GetString(suffix));
        }
    }

    private async Task<byte[]> ReadExactAsync(int count)
    {
        while (_end - _start < count)
        {
            if (_eof)
            {
                throw new EndOfStreamException($"Connection closed with {_end - _start} of {count} bytes.");
            }

            await FillAsync();
        }

        var result = _buffer.AsSpan(_start, count).ToArray();
        _start += count;
        return result;
    }

    // Returns the absolute index of the pattern in _buffer, reading more as needed.
    private async Task<int> FindAsync(byte[] pattern)
    {
        var searched = 0;
        while (true)
        {
            var index = _buffer.AsSpan(_start + searched, _end - _start - searched).IndexOf(pattern);
            if (index >= 0)
            {
                return _start + searched + index;
            }

            searched = Math.Max(0, _end - _start - pattern.Length + 1);
            if (_eof)
            {
                throw new EndOfStreamException($"Connection closed while waiting for a message; unread: '{Encoding.ASCII.GetString(_buffer, _start, _end - _start)}'");
            }

            await FillAsync();
        }
    }

    private async Task FillAsync()
    {
        if (_start > 0 && _start == _end)
        {
            _start = _end = 0;
        }

        if (_end == _buffer.Length)
        {
            // Compact, then grow if the unread part alone fills the buffer.
            var unread = _end - _start;
            var target = unread * 2 > _buffer.Length ? new byte[_buffer.Length * 2] : _buffer;
            Buffer.BlockCopy(_buffer, _start, target, 0, unread);
            _buffer = target;
            _start = 0;
            _end = unread;
        }

        using var timeout = new CancellationTokenSource(_timeout);
        int read;
        try
        {
            read = await _stream.ReadAsync(_buffer.AsMemory(_end), timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"No response bytes within {_timeout}. Received so far:\n{ReceivedText}");
        }

        if (read == 0)
        {
            _eof = true;
            return;
        }

        _wire.Write(_buffer, _end, read);
        _end += read;
    }

    [GeneratedRegex(@"^HTTP/1\.1 (\d{3}) ([\t\x20-\x7E]*)$")]
    private static partial Regex StatusLine();

    [GeneratedRegex(@"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):([\t\x20-\x7E]*)$")]
    private static partial Regex HeaderLine();
}
