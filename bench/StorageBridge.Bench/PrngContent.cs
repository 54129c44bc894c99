using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using StorageBridge.Tests;

namespace StorageBridge.Bench;

/// <summary>A request body of <c>length</c> PRNG bytes starting at <c>offset</c>, generated while it is sent.</summary>
internal sealed class PrngContent : HttpContent
{
    private const int ChunkSize = 256 * 1024;
    private readonly ulong _seed;
    private readonly long _offset;
    private readonly long _length;
    private readonly IncrementalHash? _hash;

    public PrngContent(ulong seed, long offset, long length, IncrementalHash? hash)
    {
        _seed = seed;
        _offset = offset;
        _length = length;
        _hash = hash;
        Headers.ContentLength = length;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            var sent = 0L;
            while (sent < _length)
            {
                var n = (int)Math.Min(ChunkSize, _length - sent);
                DeterministicData.Fill(_seed, _offset + sent, buffer.AsSpan(0, n));
                _hash?.AppendData(buffer, 0, n);
                await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                sent += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }
}
