using System.Globalization;
using System.Text.Json.Serialization;
using StorageBridge.Backends;
using StorageBridge.Coordination;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>
/// How a file of <see cref="TotalSize"/> bytes is cut into numbered chunks of <see cref="ChunkSize"/> (Resumable.js /
/// Flow.js). By default the chunk count is max(floor(total / chunkSize), 1), so the last chunk holds up to
/// 2 x chunkSize - 1 bytes; Flow.js with <c>forceChunkSize</c> uses ceil instead (every chunk at most chunkSize).
/// Which of the two a client uses is told by its total-chunks field. Pure functions: unit-tested without a backend.
/// Stored as part of <see cref="ChunkUploadState"/>.
/// </summary>
internal readonly record struct ChunkLayout(long ChunkSize, long TotalSize, int ChunkCount)
{
    /// <summary>Byte position of chunk <paramref name="number"/> (1-based).</summary>
    public long Start(int number) => (number - 1) * ChunkSize;

    /// <summary>End (exclusive) of chunk <paramref name="number"/>: the last chunk runs to the end of the file.</summary>
    public long End(int number) => number == ChunkCount ? TotalSize : number * ChunkSize;

    public long SizeOf(int number) => End(number) - Start(number);

    /// <summary>The largest chunk (the last one for the floor layout).</summary>
    [JsonIgnore]
    public long MaxChunkSize => Math.Max(SizeOf(ChunkCount), ChunkCount > 1 ? ChunkSize : 0);

    /// <summary>The chunk that holds byte <paramref name="offset"/> (the last chunk for offsets at or past its start).</summary>
    public int ChunkAt(long offset) => (int)Math.Min(ChunkCount, (offset / ChunkSize) + 1);

    /// <summary>
    /// Backend parts when chunks go straight to parts: chunk k is part k, and a last chunk longer than the chunk size is
    /// split into part n (chunkSize bytes) and part n + 1 (the rest), so no part or buffer exceeds the chunk size.
    /// </summary>
    [JsonIgnore]
    public int DirectPartCount => TotalSize == 0 ? 0 : ChunkCount + (SizeOf(ChunkCount) > ChunkSize ? 1 : 0);

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
    /// True when every chunk can be written straight to a backend part of <paramref name="target"/>, without waiting
    /// for the chunks before it (<see cref="UploadAssembler.AcceptsPartsOutOfOrder"/>: a backend that records parts, a
    /// chunk a valid non-final part no larger than the target's part size, the part count within the backend's limit).
    /// </summary>
    public bool FitsDirectParts(UploadTarget target) =>
        TotalSize > 0 && UploadAssembler.AcceptsPartsOutOfOrder(target, ChunkSize, DirectPartCount);
}
