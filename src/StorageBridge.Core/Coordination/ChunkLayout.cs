using System.Globalization;
using StorageBridge.Backends;

namespace StorageBridge.Coordination;

/// <summary>
/// How a file of <see cref="TotalSize"/> bytes is cut into numbered chunks of <see cref="ChunkSize"/> (Resumable.js /
/// Flow.js). By default the chunk count is max(floor(total / chunkSize), 1), so the last chunk holds up to
/// 2 x chunkSize - 1 bytes; Flow.js with <c>forceChunkSize</c> uses ceil instead (every chunk at most chunkSize).
/// Which of the two a client uses is told by its total-chunks field. Pure functions: unit-tested without a backend.
/// </summary>
public readonly record struct ChunkLayout(long ChunkSize, long TotalSize, int ChunkCount)
{
    /// <summary>Byte position of chunk <paramref name="number"/> (1-based).</summary>
    public long Start(int number) => (number - 1) * ChunkSize;

    /// <summary>End (exclusive) of chunk <paramref name="number"/>: the last chunk runs to the end of the file.</summary>
    public long End(int number) => number == ChunkCount ? TotalSize : number * ChunkSize;

    public long SizeOf(int number) => End(number) - Start(number);

    /// <summary>The largest chunk (the last one for the floor layout).</summary>
    public long MaxChunkSize => Math.Max(SizeOf(ChunkCount), ChunkCount > 1 ? ChunkSize : 0);

    /// <summary>The chunk that holds byte <paramref name="offset"/> (the last chunk for offsets at or past its start).</summary>
    public int ChunkAt(long offset) => (int)Math.Min(ChunkCount, (offset / ChunkSize) + 1);

    /// <summary>
    /// Backend parts when chunks go straight to parts: chunk k is part k, and a last chunk longer than the chunk size is
    /// split into part n (chunkSize bytes) and part n + 1 (the rest), so no part or buffer exceeds the chunk size.
    /// </summary>
    public int DirectPartCount => TotalSize == 0 ? 0 : ChunkCount + (SizeOf(ChunkCount) > ChunkSize ? 1 : 0);

    /// <summary>Serialized form kept in the upload record ("chunkSize;totalSize;chunkCount").</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{ChunkSize};{TotalSize};{ChunkCount}");

    public static ChunkLayout? Parse(string? value)
    {
        var fields = value?.Split(';');
        if (fields is not { Length: 3 }
            || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var chunkSize)
            || !long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var total)
            || !int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            return null;
        }

        return new ChunkLayout(chunkSize, total, count);
    }

    /// <summary>
    /// The layout the fields describe, or an error saying which field is inconsistent. <paramref name="totalChunks"/>
    /// picks the floor (Resumable.js, Flow.js default) or ceil (Flow.js forceChunkSize) layout; without it, floor.
    /// </summary>
    public static (ChunkLayout? Layout, string? Error) From(long chunkSize, long totalSize, long? totalChunks)
    {
        if (chunkSize < 1)
        {
            return (null, "The chunk size must be at least 1.");
        }

        if (totalSize < 0)
        {
            return (null, "The total size must not be negative.");
        }

        var floor = Math.Max(totalSize / chunkSize, 1);
        var ceil = Math.Max((totalSize / chunkSize) + (totalSize % chunkSize == 0 ? 0 : 1), 1);
        var count = totalChunks switch
        {
            null => floor,
            long given when given == floor || given == ceil => given,
            _ => -1,
        };
        if (count < 0)
        {
            return (null, string.Create(CultureInfo.InvariantCulture,
                $"The total chunk count {totalChunks} does not match {totalSize} bytes in chunks of {chunkSize} (expected {floor}{(ceil != floor ? $" or {ceil}" : "")})."));
        }

        if (count > int.MaxValue)
        {
            return (null, "Too many chunks.");
        }

        return (new ChunkLayout(chunkSize, totalSize, (int)count), null);
    }

    /// <summary>Null when chunk <paramref name="number"/> of <paramref name="currentSize"/> bytes fits this layout, else why not.</summary>
    public string? CheckChunk(long number, long? currentSize)
    {
        if (number < 1 || number > ChunkCount)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Chunk number {number} is out of range 1..{ChunkCount}.");
        }

        var expected = SizeOf((int)number);
        if (currentSize is long size && size != expected)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"Chunk {number} must hold {expected} bytes ({TotalSize} bytes in chunks of {ChunkSize}), not {size}.");
        }

        return null;
    }

    /// <summary>
    /// True when every chunk can be written straight to a backend part, without waiting for the chunks before it:
    /// for a backend that records parts (S3, Azure; asked through <see cref="Targets.UploadShape.FitsDirectParts"/>),
    /// a chunk is a valid non-final part (minimum, alignment, maximum), the part count fits, and a chunk is no larger
    /// than the target's part size (the bound on memory per request).
    /// </summary>
    public bool FitsDirectParts(BackendCapabilities capabilities, long partSizeLimit)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        return TotalSize > 0
            && ChunkSize >= Math.Max(capabilities.MinPartSize, 1)
            && ChunkSize % Math.Max(capabilities.PartAlignment, 1) == 0
            && ChunkSize <= capabilities.MaxPartSize
            && ChunkSize <= partSizeLimit
            && DirectPartCount <= capabilities.MaxParts;
    }
}
