using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>The read-only, forward-only Stream surface both chunk streams share; they implement only the async read.</summary>
internal abstract class ForwardReadStream : Stream
{
    public sealed override bool CanRead => true;
    public sealed override bool CanSeek => false;
    public sealed override bool CanWrite => false;
    public sealed override long Position { get => ReadPosition; set => throw new NotSupportedException(); }

    protected abstract long ReadPosition { get; }

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public sealed override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public sealed override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public sealed override void Flush()
    {
    }

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public sealed override void SetLength(long value) => throw new NotSupportedException();

    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>
/// A chunk body that must hold exactly <c>expected</c> bytes. A body that ends early or runs on is refused with
/// <see cref="InvalidDataException"/>; the check for "runs on" happens before the read that delivers the last byte
/// returns, so a reader that stores bytes as they arrive never gets the end of a body that turns out too long.
/// I/O errors of the underlying body (a dropped connection) pass through unchanged.
/// </summary>
internal sealed class ExactLengthStream : ForwardReadStream
{
    private readonly byte[] _probe = new byte[1];
    private readonly Stream _inner;
    private readonly long _expected;
    private long _remaining;

    public ExactLengthStream(Stream inner, long expected)
    {
        _inner = inner;
        _expected = expected;
        _remaining = expected;
    }

    public override long Length => _expected;
    protected override long ReadPosition => _expected - _remaining;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_remaining == 0 || buffer.IsEmpty)
        {
            return 0;
        }

        var read = await _inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw new InvalidDataException($"The chunk body ended after {_expected - _remaining} of {_expected} bytes.");
        }

        if (_remaining == read && await _inner.ReadAsync(_probe, cancellationToken).ConfigureAwait(false) > 0)
        {
            throw new InvalidDataException($"The chunk body is longer than its {_expected} bytes.");
        }

        _remaining -= read;
        return read;
    }
}

/// <summary>
/// Reads a staged chunk back, piece by piece (each piece one backend tail slot), from <c>skip</c> bytes into it. Holds
/// one piece in memory, so replaying a chunk costs one piece buffer whatever the chunk size.
/// </summary>
internal sealed class StagedChunkStream : ForwardReadStream
{
    private readonly ITailStore _tails;
    private readonly UploadRecord _upload;
    private readonly int _firstSequence;
    private readonly long _pieceSize;
    private readonly long _size;
    private readonly byte[] _piece;
    private long _position;
    private long _loaded = -1;

    public StagedChunkStream(ITailStore tails, UploadRecord upload, int firstSequence, long pieceSize, long size, long skip, byte[] pieceBuffer)
    {
        _tails = tails;
        _upload = upload;
        _firstSequence = firstSequence;
        _pieceSize = pieceSize;
        _size = size;
        _position = skip;
        _piece = pieceBuffer;
    }

    public override long Length => _size;
    protected override long ReadPosition => _position;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= _size || buffer.IsEmpty)
        {
            return 0;
        }

        var index = _position / _pieceSize;
        var pieceStart = index * _pieceSize;
        var pieceLength = Math.Min(_pieceSize, _size - pieceStart);
        if (_loaded != index)
        {
            var tail = new TailRecord(_firstSequence + (int)index, pieceLength);
            await _tails.ReadAsync(_upload.Id, tail, _piece.AsMemory(0, (int)pieceLength), cancellationToken).ConfigureAwait(false);
            _loaded = index;
        }

        var within = (int)(_position - pieceStart);
        var count = (int)Math.Min(buffer.Length, pieceLength - within);
        _piece.AsMemory(within, count).CopyTo(buffer);
        _position += count;
        return count;
    }
}
