using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// Reads staged bytes back, piece by piece (each piece one tail slot), from <c>skip</c> bytes into them. Holds one
/// piece in memory, so replaying staged bytes costs one piece buffer whatever their length. Forward-only, async reads.
/// </summary>
internal sealed class StagedRangeStream : Stream
{
    private readonly ITailStore _tails;
    private readonly UploadRecord _upload;
    private readonly StagedRange _range;
    private readonly byte[] _piece;
    private long _position;
    private long _loaded = -1;

    public StagedRangeStream(ITailStore tails, UploadRecord upload, StagedRange range, long skip, byte[] pieceBuffer)
    {
        _tails = tails;
        _upload = upload;
        _range = range;
        _position = skip;
        _piece = pieceBuffer;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _range.Length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= _range.Length || buffer.IsEmpty)
        {
            return 0;
        }

        var index = _position / _range.PieceSize;
        var pieceStart = index * _range.PieceSize;
        var pieceLength = Math.Min(_range.PieceSize, _range.Length - pieceStart);
        if (_loaded != index)
        {
            var tail = new TailRecord(_range.FirstSequence + (int)index, pieceLength);
            await _tails.ReadAsync(_upload.Id, tail, _piece.AsMemory(0, (int)pieceLength), cancellationToken).ConfigureAwait(false);
            _loaded = index;
        }

        var within = (int)(_position - pieceStart);
        var count = (int)Math.Min(buffer.Length, pieceLength - within);
        _piece.AsMemory(within, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
