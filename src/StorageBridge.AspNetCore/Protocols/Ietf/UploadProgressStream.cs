using System.Globalization;
using StorageBridge.AspNetCore.Interim;

namespace StorageBridge.AspNetCore.Protocols.Ietf;

/// <summary>
/// The request body as the engine reads it, sending <c>104 (Upload Resumption Supported)</c> with the durable
/// <c>Upload-Offset</c> (draft interop 8) while a creation or append streams. The engine reports each offset it
/// records (<see cref="IProgress{T}"/>); the 104 goes out just before the engine's next read, so it is written from
/// the request's own flow between two body reads, never while Kestrel may be writing its 100 Continue.
/// </summary>
internal sealed class UploadProgressStream : Stream, IProgress<long>
{
    /// <summary>At most four progress responses a second: enough for a progress bar, negligible on the wire.</summary>
    internal static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(250);

    private readonly Stream _body;
    private readonly InterimResponseWriter _writer;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _fixedHeaders;
    private readonly TimeProvider _time;
    private readonly CancellationToken _aborted;
    private long _lastSent;
    private long _reported = -1;
    private long _sentOffset = -1;

    /// <param name="fixedHeaders">Headers every progress response repeats (the interop version; Location on creation).</param>
    public UploadProgressStream(Stream body, InterimResponseWriter writer, IReadOnlyList<KeyValuePair<string, string>> fixedHeaders, TimeProvider time, CancellationToken aborted)
    {
        _body = body;
        _writer = writer;
        _fixedHeaders = fixedHeaders;
        _time = time;
        _aborted = aborted;
        _lastSent = time.GetTimestamp();
    }

    /// <summary>Progress responses sent so far (for tests and logs).</summary>
    public int Sent { get; private set; }

    public void Report(long value) => _reported = value;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await SendProgressIfDueAsync().ConfigureAwait(false);
        return await _body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private async ValueTask SendProgressIfDueAsync()
    {
        var offset = _reported;
        if (offset <= _sentOffset || _time.GetElapsedTime(_lastSent) < MinInterval)
        {
            return;
        }

        var headers = new List<KeyValuePair<string, string>>(_fixedHeaders.Count + 1) { new("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture)) };
        headers.AddRange(_fixedHeaders);
        _sentOffset = offset;
        _lastSent = _time.GetTimestamp();
        if (await _writer.TrySendAsync(104, "Upload Resumption Supported", headers, _aborted).ConfigureAwait(false))
        {
            Sent++;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => _body.Read(buffer, offset, count);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
