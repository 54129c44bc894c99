using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace StorageBridge.Tests;

/// <summary>
/// Counter-based SplitMix64: the 8-byte word k of stream <c>seed</c> is a pure function of (seed, k), so any
/// byte range of a multi-GiB "file" can be produced on the fly without storing it.
/// </summary>
public static class DeterministicData
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Word(ulong seed, ulong index)
    {
        var z = seed + ((index + 1) * Golden);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Fills <paramref name="destination"/> with bytes [offset, offset + destination.Length) of stream <paramref name="seed"/>.</summary>
    public static void Fill(ulong seed, long offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        Span<byte> word = stackalloc byte[8];
        var index = (ulong)offset / 8;
        var skip = (int)((ulong)offset % 8);
        if (skip != 0)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(word, Word(seed, index++));
            var take = Math.Min(8 - skip, destination.Length);
            word.Slice(skip, take).CopyTo(destination);
            destination = destination[take..];
        }

        while (destination.Length >= 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination, Word(seed, index++));
            destination = destination[8..];
        }

        if (destination.Length > 0)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(word, Word(seed, index));
            word[..destination.Length].CopyTo(destination);
        }
    }

    /// <summary>Writes bytes [0, length) of stream <paramref name="seed"/> to <paramref name="path"/> and returns their SHA-256 (hex, lower case).</summary>
    public static async Task<string> WriteFileAsync(string path, ulong seed, long length, CancellationToken cancellationToken)
    {
        const int chunk = 1 << 20;
        var buffer = new byte[chunk];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0, useAsync: true);
        for (var written = 0L; written < length;)
        {
            var n = (int)Math.Min(chunk, length - written);
            Fill(seed, written, buffer.AsSpan(0, n));
            sha.AppendData(buffer, 0, n);
            await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            written += n;
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>SHA-256 (hex, lower case) of bytes [0, length) of stream <paramref name="seed"/>.</summary>
    public static string Sha256(ulong seed, long length)
    {
        const int chunk = 1 << 20;
        var buffer = new byte[chunk];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var done = 0L; done < length;)
        {
            var n = (int)Math.Min(chunk, length - done);
            Fill(seed, done, buffer.AsSpan(0, n));
            sha.AppendData(buffer, 0, n);
            done += n;
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>SHA-256 (hex, lower case) of a file.</summary>
    public static async Task<string> Sha256FileAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1 << 20, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false));
    }
}
