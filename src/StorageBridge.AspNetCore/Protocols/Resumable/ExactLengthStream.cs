using System.Security.Cryptography;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>
/// A chunk body that must hold exactly <c>expected</c> bytes. A body that ends early or runs on is refused with
/// <see cref="InvalidDataException"/>; the check for "runs on" happens before the read that delivers the last byte
/// returns, so a reader that stores bytes as they arrive never gets the end of a body that turns out too long.
/// I/O errors of the underlying body (a dropped connection) pass through unchanged. Forward-only, async reads.
/// The bytes read are hashed (SHA-256): once all are read, <see cref="Sha256"/> identifies the chunk's content.
/// </summary>
internal sealed class ExactLengthStream : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
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

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _expected;
    public override long Position { get => _expected - _remaining; set => throw new NotSupportedException(); }

    /// <summary>SHA-256 of the whole chunk (base64) once every byte was read; null before.</summary>
    public string? Sha256 => _remaining == 0 ? Convert.ToBase64String(_hash.GetCurrentHash()) : null;

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

        _hash.AppendData(buffer.Span[..read]);
        _remaining -= read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
