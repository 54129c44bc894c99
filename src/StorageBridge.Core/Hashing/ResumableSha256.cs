using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static System.Numerics.BitOperations;

namespace StorageBridge.Hashing;

/// <summary>
/// Managed SHA-256 (FIPS 180-4) whose running state can be exported to a short string and imported again, so a
/// hash can be kept in a database record between HTTP requests and continued on another machine.
/// <para>
/// Export format: <c>s256:</c> followed by unpadded base64url of: the byte count (8 bytes, big-endian), the eight
/// chaining words H0..H7 (32 bytes, big-endian) and the <c>count mod 64</c> buffered bytes. At most 143 characters.
/// </para>
/// <para>Not thread-safe. Whole 64-byte blocks are hashed straight from the caller's span; nothing is allocated per call
/// except by <see cref="GetCurrentHash"/> and <see cref="Export"/> for their results.</para>
/// </summary>
internal sealed class ResumableSha256
{
    /// <summary>Length in bytes of a SHA-256 digest.</summary>
    public const int HashSizeInBytes = 32;

    /// <summary>Largest message FIPS 180-4 allows: 2^64 - 1 bits.</summary>
    public const long MaxBytes = (1L << 61) - 1;

    private const int BlockSize = 64;
    private const string Prefix = "s256:";
    private const int FixedStateBytes = 8 + HashSizeInBytes;

    private readonly byte[] _buffer = new byte[BlockSize];
    private State _state;
    private long _length;

    public ResumableSha256() => _state = State.Initial;

    private ResumableSha256(State state, long length, ReadOnlySpan<byte> buffered)
    {
        _state = state;
        _length = length;
        buffered.CopyTo(_buffer);
    }

    /// <summary>Number of bytes appended so far.</summary>
    public long BytesHashed => _length;

    /// <summary>Adds <paramref name="data"/> to the running hash.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        if (data.Length > MaxBytes - _length)
        {
            throw new InvalidOperationException("SHA-256 input is limited to 2^64 - 1 bits.");
        }

        var buffered = (int)(_length & (BlockSize - 1));
        _length += data.Length;
        if (buffered > 0)
        {
            var take = Math.Min(BlockSize - buffered, data.Length);
            data[..take].CopyTo(_buffer.AsSpan(buffered));
            data = data[take..];
            if (buffered + take < BlockSize)
            {
                return;
            }

            Compress(ref _state, _buffer);
        }

        var whole = data.Length & ~(BlockSize - 1);
        if (whole > 0)
        {
            Compress(ref _state, data[..whole]);
        }

        data[whole..].CopyTo(_buffer);
    }

    /// <summary>The SHA-256 of everything appended so far; the running state is not changed (a copy is finished).</summary>
    public byte[] GetCurrentHash()
    {
        var hash = new byte[HashSizeInBytes];
        GetCurrentHash(hash);
        return hash;
    }

    /// <summary>Writes the SHA-256 of everything appended so far to <paramref name="destination"/> (at least 32 bytes).</summary>
    public void GetCurrentHash(Span<byte> destination)
    {
        if (destination.Length < HashSizeInBytes)
        {
            throw new ArgumentException("The destination must hold 32 bytes.", nameof(destination));
        }

        var state = _state;
        var buffered = (int)(_length & (BlockSize - 1));
        Span<byte> tail = stackalloc byte[2 * BlockSize];
        tail.Clear();
        _buffer.AsSpan(0, buffered).CopyTo(tail);
        tail[buffered] = 0x80;
        var total = buffered + 1 + 8 <= BlockSize ? BlockSize : 2 * BlockSize;
        BinaryPrimitives.WriteUInt64BigEndian(tail[(total - 8)..], (ulong)_length << 3);
        Compress(ref state, tail[..total]);
        state.WriteTo(destination);
    }

    /// <summary>Serializes the running state (see the class remarks for the format).</summary>
    public string Export()
    {
        var buffered = (int)(_length & (BlockSize - 1));
        Span<byte> raw = stackalloc byte[FixedStateBytes + BlockSize];
        BinaryPrimitives.WriteInt64BigEndian(raw, _length);
        _state.WriteTo(raw[8..]);
        _buffer.AsSpan(0, buffered).CopyTo(raw[FixedStateBytes..]);
        return Prefix + Base64Url.EncodeToString(raw[..(FixedStateBytes + buffered)]);
    }

    /// <summary>Restores a state produced by <see cref="Export"/>.</summary>
    /// <exception cref="FormatException">The text is not an exported SHA-256 state.</exception>
    public static ResumableSha256 Import(string state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return TryImport(state, out var hash)
            ? hash
            : throw new FormatException("Not an exported ResumableSha256 state.");
    }

    /// <summary>Like <see cref="Import"/>, but returns false instead of throwing.</summary>
    public static bool TryImport(string? state, [NotNullWhen(true)] out ResumableSha256? hash)
    {
        hash = null;
        const int maxChars = 143; // "s256:" + base64url of 40 + 63 bytes
        if (state is null || state.Length > maxChars || !state.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var text = state.AsSpan(Prefix.Length);
        foreach (var c in text)
        {
            // Base64Url.TryDecodeFromChars throws on bad characters, so only the exporter's alphabet gets that far.
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return false;
            }
        }

        if (text.Length % 4 == 1)
        {
            return false;
        }

        Span<byte> raw = stackalloc byte[FixedStateBytes + BlockSize];
        int written;
        try
        {
            if (!Base64Url.TryDecodeFromChars(text, raw, out written) || written < FixedStateBytes)
            {
                return false;
            }
        }
        catch (FormatException)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt64BigEndian(raw);
        if (length is < 0 or > MaxBytes || written != FixedStateBytes + (int)(length & (BlockSize - 1)))
        {
            return false;
        }

        // Canonical form only: the decoder tolerates padding and whitespace, the exporter never writes them.
        Span<char> canonical = stackalloc char[maxChars];
        if (!Base64Url.TryEncodeToChars(raw[..written], canonical, out var chars) || !text.SequenceEqual(canonical[..chars]))
        {
            return false;
        }

        hash = new ResumableSha256(State.Read(raw[8..]), length, raw[FixedStateBytes..written]);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Load(ref byte block, int offset)
    {
        var value = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref block, offset));
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(value) : value;
    }

    /// <summary>
    /// Runs the compression function over whole blocks (length a multiple of 64). The 64 rounds are fully unrolled
    /// (generated code: the eight working variables rotate roles instead of being shuffled), the message schedule
    /// is a rolling window of 16 locals, Sigma0/Sigma1 use the nested-rotate form and Maj reuses the previous round's
    /// a^b. AggressiveOptimization skips tier-0/OSR code, which is several times slower for this method.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Compress(ref State state, ReadOnlySpan<byte> blocks)
    {
        Debug.Assert(blocks.Length % BlockSize == 0);
        uint h0 = state.H0, h1 = state.H1, h2 = state.H2, h3 = state.H3;
        uint h4 = state.H4, h5 = state.H5, h6 = state.H6, h7 = state.H7;
        ref var start = ref MemoryMarshal.GetReference(blocks);
        for (var offset = 0; offset < blocks.Length; offset += BlockSize)
        {
            ref var block = ref Unsafe.Add(ref start, offset);
            uint a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
            var w0 = Load(ref block, 0);
            var w1 = Load(ref block, 4);
            var w2 = Load(ref block, 8);
            var w3 = Load(ref block, 12);
            var w4 = Load(ref block, 16);
            var w5 = Load(ref block, 20);
            var w6 = Load(ref block, 24);
            var w7 = Load(ref block, 28);
            var w8 = Load(ref block, 32);
            var w9 = Load(ref block, 36);
            var w10 = Load(ref block, 40);
            var w11 = Load(ref block, 44);
            var w12 = Load(ref block, 48);
            var w13 = Load(ref block, 52);
            var w14 = Load(ref block, 56);
            var w15 = Load(ref block, 60);

            uint bc = b ^ c, ab;
            h += RotateRight(RotateRight(RotateRight(e, 14) ^ e, 5) ^ e, 6) + (g ^ (e & (f ^ g))) + 0x428a2f98u + w0;
            d += h;
            ab = a ^ b;
            h += RotateRight(RotateRight(RotateRight(a, 9) ^ a, 11) ^ a, 2) + (b ^ (ab & bc));
            bc = ab;
            g += RotateRight(RotateRight(RotateRight(d, 14) ^ d, 5) ^ d, 6) + (f ^ (d & (e ^ f))) + 0x71374491u + w1;
            c += g;
            ab = h ^ a;
            g += RotateRight(RotateRight(RotateRight(h, 9) ^ h, 11) ^ h, 2) + (a ^ (ab & bc));
            bc = ab;
            f += RotateRight(RotateRight(RotateRight(c, 14) ^ c, 5) ^ c, 6) + (e ^ (c & (d ^ e))) + 0xb5c0fbcfu + w2;
            b += f;
            ab = g ^ h;
            f += RotateRight(RotateRight(RotateRight(g, 9) ^ g, 11) ^ g, 2) + (h ^ (ab & bc));
            bc = ab;
            e += RotateRight(RotateRight(RotateRight(b, 14) ^ b, 5) ^ b, 6) + (d ^ (b & (c ^ d))) + 0xe9b5dba5u + w3;
            a += e;
            ab = f ^ g;
            e += RotateRight(RotateRight(RotateRight(f, 9) ^ f, 11) ^ f, 2) + (g ^ (ab & bc));
            bc = ab;
            d += RotateRight(RotateRight(RotateRight(a, 14) ^ a, 5) ^ a, 6) + (c ^ (a & (b ^ c))) + 0x3956c25bu + w4;
            h += d;
            ab = e ^ f;
            d += RotateRight(RotateRight(RotateRight(e, 9) ^ e, 11) ^ e, 2) + (f ^ (ab & bc));
            bc = ab;
            c += RotateRight(RotateRight(RotateRight(h, 14) ^ h, 5) ^ h, 6) + (b ^ (h & (a ^ b))) + 0x59f111f1u + w5;
            g += c;
            ab = d ^ e;
            c += RotateRight(RotateRight(RotateRight(d, 9) ^ d, 11) ^ d, 2) + (e ^ (ab & bc));
            bc = ab;
            b += RotateRight(RotateRight(RotateRight(g, 14) ^ g, 5) ^ g, 6) + (a ^ (g & (h ^ a))) + 0x923f82a4u + w6;
            f += b;
            ab = c ^ d;
            b += RotateRight(RotateRight(RotateRight(c, 9) ^ c, 11) ^ c, 2) + (d ^ (ab & bc));
            bc = ab;
            a += RotateRight(RotateRight(RotateRight(f, 14) ^ f, 5) ^ f, 6) + (h ^ (f & (g ^ h))) + 0xab1c5ed5u + w7;
            e += a;
            ab = b ^ c;
            a += RotateRight(RotateRight(RotateRight(b, 9) ^ b, 11) ^ b, 2) + (c ^ (ab & bc));
            bc = ab;
            h += RotateRight(RotateRight(RotateRight(e, 14) ^ e, 5) ^ e, 6) + (g ^ (e & (f ^ g))) + 0xd807aa98u + w8;
            d += h;
            ab = a ^ b;
            h += RotateRight(RotateRight(RotateRight(a, 9) ^ a, 11) ^ a, 2) + (b ^ (ab & bc));
            bc = ab;
            g += RotateRight(RotateRight(RotateRight(d, 14) ^ d, 5) ^ d, 6) + (f ^ (d & (e ^ f))) + 0x12835b01u + w9;
            c += g;
            ab = h ^ a;
            g += RotateRight(RotateRight(RotateRight(h, 9) ^ h, 11) ^ h, 2) + (a ^ (ab & bc));
            bc = ab;
            f += RotateRight(RotateRight(RotateRight(c, 14) ^ c, 5) ^ c, 6) + (e ^ (c & (d ^ e))) + 0x243185beu + w10;
            b += f;
            ab = g ^ h;
            f += RotateRight(RotateRight(RotateRight(g, 9) ^ g, 11) ^ g, 2) + (h ^ (ab & bc));
            bc = ab;
            e += RotateRight(RotateRight(RotateRight(b, 14) ^ b, 5) ^ b, 6) + (d ^ (b & (c ^ d))) + 0x550c7dc3u + w11;
            a += e;
            ab = f ^ g;
            e += RotateRight(RotateRight(RotateRight(f, 9) ^ f, 11) ^ f, 2) + (g ^ (ab & bc));
            bc = ab;
            d += RotateRight(RotateRight(RotateRight(a, 14) ^ a, 5) ^ a, 6) + (c ^ (a & (b ^ c))) + 0x72be5d74u + w12;
            h += d;
            ab = e ^ f;
            d += RotateRight(RotateRight(RotateRight(e, 9) ^ e, 11) ^ e, 2) + (f ^ (ab & bc));
            bc = ab;
            c += RotateRight(RotateRight(RotateRight(h, 14) ^ h, 5) ^ h, 6) + (b ^ (h & (a ^ b))) + 0x80deb1feu + w13;
            g += c;
            ab = d ^ e;
            c += RotateRight(RotateRight(RotateRight(d, 9) ^ d, 11) ^ d, 2) + (e ^ (ab & bc));
            bc = ab;
            b += RotateRight(RotateRight(RotateRight(g, 14) ^ g, 5) ^ g, 6) + (a ^ (g & (h ^ a))) + 0x9bdc06a7u + w14;
            f += b;
            ab = c ^ d;
            b += RotateRight(RotateRight(RotateRight(c, 9) ^ c, 11) ^ c, 2) + (d ^ (ab & bc));
            bc = ab;
            a += RotateRight(RotateRight(RotateRight(f, 14) ^ f, 5) ^ f, 6) + (h ^ (f & (g ^ h))) + 0xc19bf174u + w15;
            e += a;
            ab = b ^ c;
            a += RotateRight(RotateRight(RotateRight(b, 9) ^ b, 11) ^ b, 2) + (c ^ (ab & bc));
            bc = ab;
            w0 += (RotateRight(w14, 17) ^ RotateRight(w14, 19) ^ (w14 >> 10)) + w9 + (RotateRight(w1, 7) ^ RotateRight(w1, 18) ^ (w1 >> 3));
            h += RotateRight(RotateRight(RotateRight(e, 14) ^ e, 5) ^ e, 6) + (g ^ (e & (f ^ g))) + 0xe49b69c1u + w0;
            d += h;
            ab = a ^ b;
            h += RotateRight(RotateRight(RotateRight(a, 9) ^ a, 11) ^ a, 2) + (b ^ (ab & bc));
            bc = ab;
            w1 += (RotateRight(w15, 17) ^ RotateRight(w15, 19) ^ (w15 >> 10)) + w10 + (RotateRight(w2, 7) ^ RotateRight(w2, 18) ^ (w2 >> 3));
            g += RotateRight(RotateRight(RotateRight(d, 14) ^ d, 5) ^ d, 6) + (f ^ (d & (e ^ f))) + 0xefbe4786u + w1;
            c += g;
            ab = h ^ a;
            g += RotateRight(RotateRight(RotateRight(h, 9) ^ h, 11) ^ h, 2) + (a ^ (ab & bc));
            bc = ab;
            w2 += (RotateRight(w0, 17) ^ RotateRight(w0, 19) ^ (w0 >> 10)) + w11 + (RotateRight(w3, 7) ^ RotateRight(w3, 18) ^ (w3 >> 3));
            f += RotateRight(RotateRight(RotateRight(c, 14) ^ c, 5) ^ c, 6) + (e ^ (c & (d ^ e))) + 0x0fc19dc6u + w2;
            b += f;
            ab = g ^ h;
            f += RotateRight(RotateRight(RotateRight(g, 9) ^ g, 11) ^ g, 2) + (h ^ (ab & bc));
            bc = ab;
            w3 += (RotateRight(w1, 17) ^ RotateRight(w1, 19) ^ (w1 >> 10)) + w12 + (RotateRight(w4, 7) ^ RotateRight(w4, 18) ^ (w4 >> 3));
            e += RotateRight(RotateRight(RotateRight(b, 14) ^ b, 5) ^ b, 6) + (d ^ (b & (c ^ d))) + 0x240ca1ccu + w3;
            a += e;
            ab = f ^ g;
            e += RotateRight(RotateRight(RotateRight(f, 9) ^ f, 11) ^ f, 2) + (g ^ (ab & bc));
            bc = ab;
            w4 += (RotateRight(w2, 17) ^ RotateRight(w2, 19) ^ (w2 >> 10)) + w13 + (RotateRight(w5, 7) ^ RotateRight(w5, 18) ^ (w5 >> 3));
            d += RotateRight(RotateRight(RotateRight(a, 14) ^ a, 5) ^ a, 6) + (c ^ (a & (b ^ c))) + 0x2de92c6fu + w4;
            h += d;
            ab = e ^ f;
            d += RotateRight(RotateRight(RotateRight(e, 9) ^ e, 11) ^ e, 2) + (f ^ (ab & bc));
            bc = ab;
            w5 += (RotateRight(w3, 17) ^ RotateRight(w3, 19) ^ (w3 >> 10)) + w14 + (RotateRight(w6, 7) ^ RotateRight(w6, 18) ^ (w6 >> 3));
            c += RotateRight(RotateRight(RotateRight(h, 14) ^ h, 5) ^ h, 6) + (b ^ (h & (a ^ b))) + 0x4a7484aau + w5;
            g += c;
            ab = d ^ e;
            c += RotateRight(RotateRight(RotateRight(d, 9) ^ d, 11) ^ d, 2) + (e ^ (ab & bc));
            bc = ab;
            w6 += (RotateRight(w4, 17) ^ RotateRight(w4, 19) ^ (w4 >> 10)) + w15 + (RotateRight(w7, 7) ^ RotateRight(w7, 18) ^ (w7 >> 3));
            b += RotateRight(RotateRight(RotateRight(g, 14) ^ g, 5) ^ g, 6) + (a ^ (g & (h ^ a))) + 0x5cb0a9dcu + w6;
            f += b;
            ab = c ^ d;
            b += RotateRight(RotateRight(RotateRight(c, 9) ^ c, 11) ^ c, 2) + (d ^ (ab & bc));
            bc = ab;
            w7 += (RotateRight(w5, 17) ^ RotateRight(w5, 19) ^ (w5 >> 10)) + w0 + (RotateRight(w8, 7) ^ RotateRight(w8, 18) ^ (w8 >> 3));
            a += RotateRight(RotateRight(RotateRight(f, 14) ^ f, 5) ^ f, 6) + (h ^ (f & (g ^ h))) + 0x76f988dau + w7;
            e += a;
            ab = b ^ c;
            a += RotateRight(RotateRight(RotateRight(b, 9) ^ b, 11) ^ b, 2) + (c ^ (ab & bc));
            bc = ab;
            w8 += (RotateRight(w6, 17) ^ RotateRight(w6, 19) ^ (w6 >> 10)) + w1 + (RotateRight(w9, 7) ^ RotateRight(w9, 18) ^ (w9 >> 3));
            h += RotateRight(RotateRight(RotateRight(e, 14) ^ e, 5) ^ e, 6) + (g ^ (e & (f ^ g))) + 0x983e5152u + w8;
            d += h;
            ab = a ^ b;
            h += RotateRight(RotateRight(RotateRight(a, 9) ^ a, 11) ^ a, 2) + (b ^ (ab & bc));
            bc = ab;
            w9 += (RotateRight(w7, 17) ^ RotateRight(w7, 19) ^ (w7 >> 10)) + w2 + (RotateRight(w10, 7) ^ RotateRight(w10, 18) ^ (w10 >> 3));
            g += RotateRight(RotateRight(RotateRight(d, 14) ^ d, 5) ^ d, 6) + (f ^ (d & (e ^ f))) + 0xa831c66du + w9;
            c += g;
            ab = h ^ a;
            g += RotateRight(RotateRight(RotateRight(h, 9) ^ h, 11) ^ h, 2) + (a ^ (ab & bc));
            bc = ab;
            w10 += (RotateRight(w8, 17) ^ RotateRight(w8, 19) ^ (w8 >> 10)) + w3 + (RotateRight(w11, 7) ^ RotateRight(w11, 18) ^ (w11 >> 3));
            f += RotateRight(RotateRight(RotateRight(c, 14) ^ c, 5) ^ c, 6) + (e ^ (c & (d ^ e))) + 0xb00327c8u + w10;
            b += f;
            ab = g ^ h;
            f += RotateRight(RotateRight(RotateRight(g, 9) ^ g, 11) ^ g, 2) + (h ^ (ab & bc));
            bc = ab;
            w11 += (RotateRight(w9, 17) ^ RotateRight(w9, 19) ^ (w9 >> 10)) + w4 + (RotateRight(w12, 7) ^ RotateRight(w12, 18) ^ (w12 >> 3));
            e += RotateRight(RotateRight(RotateRight(b, 14) ^ b, 5) ^ b, 6) + (d ^ (b & (c ^ d))) + 0xbf597fc7u + w11;
            a += e;
            ab = f ^ g;
            e += RotateRight(RotateRight(RotateRight(f, 9) ^ f, 11) ^ f, 2) + (g ^ (ab & bc));
            bc = ab;
            w12 += (RotateRight(w10, 17) ^ RotateRight(w10, 19) ^ (w10 >> 10)) + w5 + (RotateRight(w13, 7) ^ RotateRight(w13, 18) ^ (w13 >> 3));
            d += RotateRight(RotateRight(RotateRight(a, 14) ^ a, 5) ^ a, 6) + (c ^ (a & (b ^ c))) + 0xc6e00bf3u + w12;
            h += d;
            ab = e ^ f;
            d += RotateRight(RotateRight(RotateRight(e, 9) ^ e, 11) ^ e, 2) + (f ^ (ab & bc));
            bc = ab;
            w13 += (RotateRight(w11, 17) ^ RotateRight(w11, 19) ^ (w11 >> 10)) + w6 + (RotateRight(w14, 7) ^ RotateRight(w14, 18) ^ (w14 >> 3));
            c += RotateRight(RotateRight(RotateRight(h, 14) ^ h, 5) ^ h, 6) + (b ^ (h & (a ^ b))) + 0xd5a79147u + w13;
            g += c;
            ab = d ^ e;
            c += RotateRight(RotateRight(RotateRight(d, 9) ^ d, 11) ^ d, 2) + (e ^ (ab & bc));
            bc = ab;
            w14 += (RotateRight(w12, 17) ^ RotateRight(w12, 19) ^ (w12 >> 10)) + w7 + (RotateRight(w15, 7) ^ RotateRight(w15, 18) ^ (w15 >> 3));
            b += RotateRight(RotateRight(RotateRight(g, 14) ^ g, 5) ^ g, 6) + (a ^ (g & (h ^ a))) + 0x06ca6351u + w14;
            f += b;
            ab = c ^ d;
            b += RotateRight(RotateRight(RotateRight(c, 9) ^ c, 11) ^ c, 2) + (d ^ (ab & bc));
            bc = ab;
            w15 += (RotateRight(w13, 17) ^ RotateRight(w13, 19) ^ (w13 >> 10)) + w8 + (RotateRight(w0, 7) ^ RotateRight(w0, 18) ^ (w0 >> 3));
            a += RotateRight(RotateRight(RotateRight(f, 14) ^ f, 5) ^ f, 6) + (h ^ (f & (g ^ h))) + 0x14292967u + w15;
            e += a;
            ab = b ^ c;
            a += RotateRight(RotateRight(RotateRight(b, 9) ^ b, 11) ^ b, 2) + (c ^ (ab & bc));
            bc = ab;
            w0 += (RotateRight(w14, 17) ^ RotateRight(w14, 19) ^ (w14 >> 10)) + w9 + (RotateRight(w1, 7) ^ RotateRight(w1, 18) ^ (w1 >> 3));
            h += RotateRight(RotateRight(RotateRight(e, 14) ^ e, 5) ^ e, 6) + (g ^ (e & (f ^ g))) + 0x27b70a85u + w0;
            d += h;
            ab = a ^ b;
            h += RotateRight(RotateRight(RotateRight(a, 9) ^ a, 11) ^ a, 2) + (b ^ (ab & bc));
            bc = ab;
            w1 += (RotateRight(w15, 17) ^ RotateRight(w15, 19) ^ (w15 >> 10)) + w10 + (RotateRight(w2, 7) ^ RotateRight(w2, 18) ^ (w2 >> 3));
            g += RotateRight(RotateRight(RotateRight(d, 14) ^ d, 5) ^ d, 6) + (f ^ (d & (e ^ f))) + 0x2e1b2138u + w1;
            c += g;
            ab = h ^ a;
            g += RotateRight(RotateRight(RotateRight(h, 9) ^ h, 11) ^ h, 2) + (a ^ (ab & bc));
            bc = ab;
            w2 += (RotateRight(w0, 17) ^ RotateRight(w0, 19) ^ (w0 >> 10)) + w11 + (RotateRight(w3, 7) ^ RotateRight(w3, 18) ^ (w3 >> 3));
            f += RotateRight(RotateRight(RotateRight(c, 14) ^ c, 5) ^ c, 6) + (e ^ (c & (d ^ e))) + 0x4d2c6dfcu + w2;
            b += f;
            ab = g ^ h;
            f += RotateRight(RotateRight(RotateRight(g, 9) ^ g, 11) ^ g, 2) + (h ^ (ab & bc));
            bc = ab;
            w3 += (RotateRight(w1, 17) ^ RotateRight(w1, 19) ^ (w1 >> 10)) + w12 + (RotateRight(w4, 7) ^ RotateRight(w4, 18) ^ (w4 >> 3));
            e += RotateRight(RotateRight(RotateRight(b, 14) ^ b, 5) ^ b, 6) + (d ^ (b & (c ^ d))) + 0x53380d13u + w3;
            a += e;
            ab = f ^ g;
            e += RotateRight(RotateRight(RotateRight(f, 9) ^ f, 11) ^ f, 2) + (g ^ (ab & bc));
            bc = ab;
            w4 += (RotateRight(w2, 17) ^ RotateRight(w2, 19) ^ (w2 >> 10)) + w13 + (RotateRight(w5, 7) ^ RotateRight(w5, 18) ^ (w5 >> 3));
            d += RotateRight(RotateRight(RotateRight(a, 14) ^ a, 5) ^ a, 6) + (c ^ (a & (b ^ c))) + 0x650a7354u + w4;
            h += d;
            ab = e ^ f;
            d += RotateRight(RotateRight(RotateRight(e, 9) ^ e, 11) ^ e, 2) + (f ^ (ab & bc));
            bc = ab;
            w5 += (RotateRight(w3, 17) ^ RotateRight(w3, 19) ^ (w3 >> 10)) + w14 + (RotateRight(w6, 7) ^ RotateRight(w6, 18) ^ (w6 >> 3));
            c += RotateRight(RotateRight(RotateRight(h, 14) ^ h, 5) ^ h, 6) + (b ^ (h & (a ^ b))) + 0x766a0abbu + w5;
            g += c;
            ab = d ^ e;
            c += RotateRight(RotateRight(RotateRight(d, 9) ^ d, 11) ^ d, 2) + (e ^ (ab & bc));
            bc = ab;
            w6 += (RotateRight(w4, 17) ^ RotateRight(w4, 19) ^ (w4 >> 10)) + w15 + (RotateRight(w7, 7) ^ RotateRight(w7, 18) ^ (w7 >> 3));
            b += RotateRight(RotateRight(RotateRight(g, 14) ^ g, 5) ^ g, 6) + (a ^ (g & (h ^ a))) + 0x81c2c92eu + w6;
            f += b;
            ab = c ^ d;
            b += RotateRight(RotateRight(RotateRight(c, 9) ^ c, 11) ^ c, 2) + (d ^ (ab & bc));
            bc = ab;
            w7 += (RotateRight(w5, 17) ^ RotateRight(w5, 19) ^ (w5 >> 10)) + w0 + (RotateRight(w8, 7) ^ RotateRight(w8, 18) ^ (w8 >> 3));
            a += RotateRight(RotateRight(RotateRight(f, 14) ^ f, 5) ^ f, 6) + (h ^ (f & (g ^ h))) + 0x92722c85u + w7;
            e += a;
            ab = b ^ c;
            a += RotateRight(RotateRight(RotateRight(b, 9) ^ b, 11) ^ b, 2) + (c ^ (ab & bc));
            bc = ab;
            w8 += (RotateRight(w6, 17) ^ RotateRight(w6, 19) ^ (w6 >> 10)) + w1 + (RotateRight(w9, 7) ^ RotateRight(w9, 18) ^ (w9 >> 3));
            h += RotateRight(RotateRight(RotateRight(e, 14) ^ e, 5) ^ e, 6) + (g ^ (e & (f ^ g))) + 0xa2bfe8a1u + w8;
            d += h;
            ab = a ^ b;
            h += RotateRight(RotateRight(RotateRight(a, 9) ^ a, 11) ^ a, 2) + (b ^ (ab & bc));
            bc = ab;
            w9 += (RotateRight(w7, 17) ^ RotateRight(w7, 19) ^ (w7 >> 10)) + w2 + (RotateRight(w10, 7) ^ RotateRight(w10, 18) ^ (w10 >> 3));
            g += RotateRight(RotateRight(RotateRight(d, 14) ^ d, 5) ^ d, 6) + (f ^ (d & (e ^ f))) + 0xa81a664bu + w9;
            c += g;
            ab = h ^ a;
            g += RotateRight(RotateRight(RotateRight(h, 9) ^ h, 11) ^ h, 2) + (a ^ (ab & bc));
            bc = ab;
            w10 += (RotateRight(w8, 17) ^ RotateRight(w8, 19) ^ (w8 >> 10)) + w3 + (RotateRight(w11, 7) ^ RotateRight(w11, 18) ^ (w11 >> 3));
            f += RotateRight(RotateRight(RotateRight(c, 14) ^ c, 5) ^ c, 6) + (e ^ (c & (d ^ e))) + 0xc24b8b70u + w10;
            b += f;
            ab = g ^ h;
            f += RotateRight(RotateRight(RotateRight(g, 9) ^ g, 11) ^ g, 2) + (h ^ (ab & bc));
            bc = ab;
            w11 += (RotateRight(w9, 17) ^ RotateRight(w9, 19) ^ (w9 >> 10)) + w4 + (RotateRight(w12, 7) ^ RotateRight(w12, 18) ^ (w12 >> 3));
            e += RotateRight(RotateRight(RotateRight(b, 14) ^ b, 5) ^ b, 6) + (d ^ (b & (c ^ d))) + 0xc76c51a3u + w11;
            a += e;
            ab = f ^ g;
            e += RotateRight(RotateRight(RotateRight(f, 9) ^ f, 11) ^ f, 2) + (g ^ (ab & bc));
            bc = ab;
            w12 += (RotateRight(w10, 17) ^ RotateRight(w10, 19) ^ (w10 >> 10)) + w5 + (RotateRight(w13, 7) ^ RotateRight(w13, 18) ^ (w13 >> 3));
            d += RotateRight(RotateRight(RotateRight(a, 14) ^ a, 5) ^ a, 6) + (c ^ (a & (b ^ c))) + 0xd192e819u + w12;
            h += d;
            ab = e ^ f;
            d += RotateRight(RotateRight(RotateRight(e, 9) ^ e, 11) ^ e, 2) + (f ^ (ab & bc));
            bc = ab;
            w13 += (RotateRight(w11, 17) ^ RotateRight(w11, 19) ^ (w11 >> 10)) + w6 + (RotateRight(w14, 7) ^ RotateRight(w14, 18) ^ (w14 >> 3));
            c += RotateRight(RotateRight(RotateRight(h, 14) ^ h, 5) ^ h, 6) + (b ^ (h & (a ^ b))) + 0xd6990624u + w13;
            g += c;
            ab = d ^ e;
            c += RotateRight(RotateRight(RotateRight(d, 9) ^ d, 11) ^ d, 2) + (e ^ (ab & bc));
            bc = ab;
            w14 += (RotateRight(w12, 17) ^ RotateRight(w12, 19) ^ (w12 >> 10)) + w7 + (RotateRight(w15, 7) ^ RotateRight(w15, 18) ^ (w15 >> 3));
            b += RotateRight(RotateRight(RotateRight(g, 14) ^ g, 5) ^ g, 6) + (a ^ (g & (h ^ a))) + 0xf40e3585u + w14;
            f += b;
            ab = c ^ d;
            b += RotateRight(RotateRight(RotateRight(c, 9) ^ c, 11) ^ c, 2) + (d ^ (ab & bc));
            bc = ab;
            w15 += (RotateRight(w13, 17) ^ RotateRight(w13, 19) ^ (w13 >> 10)) + w8 + (RotateRight(w0, 7) ^ RotateRight(w0, 18) ^ (w0 >> 3));
            a += RotateRight(RotateRight(RotateRight(f, 14) ^ f, 5) ^ f, 6) + (h ^ (f & (g ^ h))) + 0x106aa070u + w15;
            e += a;
            ab = b ^ c;
            a += RotateRight(RotateRight(RotateRight(b, 9) ^ b, 11) ^ b, 2) + (c ^ (ab & bc));
            bc = ab;
            w0 += (RotateRight(w14, 17) ^ RotateRight(w14, 19) ^ (w14 >> 10)) + w9 + (RotateRight(w1, 7) ^ RotateRight(w1, 18) ^ (w1 >> 3));
            h += RotateRight(RotateRight(RotateRight(e, 14) ^ e, 5) ^ e, 6) + (g ^ (e & (f ^ g))) + 0x19a4c116u + w0;
            d += h;
            ab = a ^ b;
            h += RotateRight(RotateRight(RotateRight(a, 9) ^ a, 11) ^ a, 2) + (b ^ (ab & bc));
            bc = ab;
            w1 += (RotateRight(w15, 17) ^ RotateRight(w15, 19) ^ (w15 >> 10)) + w10 + (RotateRight(w2, 7) ^ RotateRight(w2, 18) ^ (w2 >> 3));
            g += RotateRight(RotateRight(RotateRight(d, 14) ^ d, 5) ^ d, 6) + (f ^ (d & (e ^ f))) + 0x1e376c08u + w1;
            c += g;
            ab = h ^ a;
            g += RotateRight(RotateRight(RotateRight(h, 9) ^ h, 11) ^ h, 2) + (a ^ (ab & bc));
            bc = ab;
            w2 += (RotateRight(w0, 17) ^ RotateRight(w0, 19) ^ (w0 >> 10)) + w11 + (RotateRight(w3, 7) ^ RotateRight(w3, 18) ^ (w3 >> 3));
            f += RotateRight(RotateRight(RotateRight(c, 14) ^ c, 5) ^ c, 6) + (e ^ (c & (d ^ e))) + 0x2748774cu + w2;
            b += f;
            ab = g ^ h;
            f += RotateRight(RotateRight(RotateRight(g, 9) ^ g, 11) ^ g, 2) + (h ^ (ab & bc));
            bc = ab;
            w3 += (RotateRight(w1, 17) ^ RotateRight(w1, 19) ^ (w1 >> 10)) + w12 + (RotateRight(w4, 7) ^ RotateRight(w4, 18) ^ (w4 >> 3));
            e += RotateRight(RotateRight(RotateRight(b, 14) ^ b, 5) ^ b, 6) + (d ^ (b & (c ^ d))) + 0x34b0bcb5u + w3;
            a += e;
            ab = f ^ g;
            e += RotateRight(RotateRight(RotateRight(f, 9) ^ f, 11) ^ f, 2) + (g ^ (ab & bc));
            bc = ab;
            w4 += (RotateRight(w2, 17) ^ RotateRight(w2, 19) ^ (w2 >> 10)) + w13 + (RotateRight(w5, 7) ^ RotateRight(w5, 18) ^ (w5 >> 3));
            d += RotateRight(RotateRight(RotateRight(a, 14) ^ a, 5) ^ a, 6) + (c ^ (a & (b ^ c))) + 0x391c0cb3u + w4;
            h += d;
            ab = e ^ f;
            d += RotateRight(RotateRight(RotateRight(e, 9) ^ e, 11) ^ e, 2) + (f ^ (ab & bc));
            bc = ab;
            w5 += (RotateRight(w3, 17) ^ RotateRight(w3, 19) ^ (w3 >> 10)) + w14 + (RotateRight(w6, 7) ^ RotateRight(w6, 18) ^ (w6 >> 3));
            c += RotateRight(RotateRight(RotateRight(h, 14) ^ h, 5) ^ h, 6) + (b ^ (h & (a ^ b))) + 0x4ed8aa4au + w5;
            g += c;
            ab = d ^ e;
            c += RotateRight(RotateRight(RotateRight(d, 9) ^ d, 11) ^ d, 2) + (e ^ (ab & bc));
            bc = ab;
            w6 += (RotateRight(w4, 17) ^ RotateRight(w4, 19) ^ (w4 >> 10)) + w15 + (RotateRight(w7, 7) ^ RotateRight(w7, 18) ^ (w7 >> 3));
            b += RotateRight(RotateRight(RotateRight(g, 14) ^ g, 5) ^ g, 6) + (a ^ (g & (h ^ a))) + 0x5b9cca4fu + w6;
            f += b;
            ab = c ^ d;
            b += RotateRight(RotateRight(RotateRight(c, 9) ^ c, 11) ^ c, 2) + (d ^ (ab & bc));
            bc = ab;
            w7 += (RotateRight(w5, 17) ^ RotateRight(w5, 19) ^ (w5 >> 10)) + w0 + (RotateRight(w8, 7) ^ RotateRight(w8, 18) ^ (w8 >> 3));
            a += RotateRight(RotateRight(RotateRight(f, 14) ^ f, 5) ^ f, 6) + (h ^ (f & (g ^ h))) + 0x682e6ff3u + w7;
            e += a;
            ab = b ^ c;
            a += RotateRight(RotateRight(RotateRight(b, 9) ^ b, 11) ^ b, 2) + (c ^ (ab & bc));
            bc = ab;
            w8 += (RotateRight(w6, 17) ^ RotateRight(w6, 19) ^ (w6 >> 10)) + w1 + (RotateRight(w9, 7) ^ RotateRight(w9, 18) ^ (w9 >> 3));
            h += RotateRight(RotateRight(RotateRight(e, 14) ^ e, 5) ^ e, 6) + (g ^ (e & (f ^ g))) + 0x748f82eeu + w8;
            d += h;
            ab = a ^ b;
            h += RotateRight(RotateRight(RotateRight(a, 9) ^ a, 11) ^ a, 2) + (b ^ (ab & bc));
            bc = ab;
            w9 += (RotateRight(w7, 17) ^ RotateRight(w7, 19) ^ (w7 >> 10)) + w2 + (RotateRight(w10, 7) ^ RotateRight(w10, 18) ^ (w10 >> 3));
            g += RotateRight(RotateRight(RotateRight(d, 14) ^ d, 5) ^ d, 6) + (f ^ (d & (e ^ f))) + 0x78a5636fu + w9;
            c += g;
            ab = h ^ a;
            g += RotateRight(RotateRight(RotateRight(h, 9) ^ h, 11) ^ h, 2) + (a ^ (ab & bc));
            bc = ab;
            w10 += (RotateRight(w8, 17) ^ RotateRight(w8, 19) ^ (w8 >> 10)) + w3 + (RotateRight(w11, 7) ^ RotateRight(w11, 18) ^ (w11 >> 3));
            f += RotateRight(RotateRight(RotateRight(c, 14) ^ c, 5) ^ c, 6) + (e ^ (c & (d ^ e))) + 0x84c87814u + w10;
            b += f;
            ab = g ^ h;
            f += RotateRight(RotateRight(RotateRight(g, 9) ^ g, 11) ^ g, 2) + (h ^ (ab & bc));
            bc = ab;
            w11 += (RotateRight(w9, 17) ^ RotateRight(w9, 19) ^ (w9 >> 10)) + w4 + (RotateRight(w12, 7) ^ RotateRight(w12, 18) ^ (w12 >> 3));
            e += RotateRight(RotateRight(RotateRight(b, 14) ^ b, 5) ^ b, 6) + (d ^ (b & (c ^ d))) + 0x8cc70208u + w11;
            a += e;
            ab = f ^ g;
            e += RotateRight(RotateRight(RotateRight(f, 9) ^ f, 11) ^ f, 2) + (g ^ (ab & bc));
            bc = ab;
            w12 += (RotateRight(w10, 17) ^ RotateRight(w10, 19) ^ (w10 >> 10)) + w5 + (RotateRight(w13, 7) ^ RotateRight(w13, 18) ^ (w13 >> 3));
            d += RotateRight(RotateRight(RotateRight(a, 14) ^ a, 5) ^ a, 6) + (c ^ (a & (b ^ c))) + 0x90befffau + w12;
            h += d;
            ab = e ^ f;
            d += RotateRight(RotateRight(RotateRight(e, 9) ^ e, 11) ^ e, 2) + (f ^ (ab & bc));
            bc = ab;
            w13 += (RotateRight(w11, 17) ^ RotateRight(w11, 19) ^ (w11 >> 10)) + w6 + (RotateRight(w14, 7) ^ RotateRight(w14, 18) ^ (w14 >> 3));
            c += RotateRight(RotateRight(RotateRight(h, 14) ^ h, 5) ^ h, 6) + (b ^ (h & (a ^ b))) + 0xa4506cebu + w13;
            g += c;
            ab = d ^ e;
            c += RotateRight(RotateRight(RotateRight(d, 9) ^ d, 11) ^ d, 2) + (e ^ (ab & bc));
            bc = ab;
            w14 += (RotateRight(w12, 17) ^ RotateRight(w12, 19) ^ (w12 >> 10)) + w7 + (RotateRight(w15, 7) ^ RotateRight(w15, 18) ^ (w15 >> 3));
            b += RotateRight(RotateRight(RotateRight(g, 14) ^ g, 5) ^ g, 6) + (a ^ (g & (h ^ a))) + 0xbef9a3f7u + w14;
            f += b;
            ab = c ^ d;
            b += RotateRight(RotateRight(RotateRight(c, 9) ^ c, 11) ^ c, 2) + (d ^ (ab & bc));
            bc = ab;
            w15 += (RotateRight(w13, 17) ^ RotateRight(w13, 19) ^ (w13 >> 10)) + w8 + (RotateRight(w0, 7) ^ RotateRight(w0, 18) ^ (w0 >> 3));
            a += RotateRight(RotateRight(RotateRight(f, 14) ^ f, 5) ^ f, 6) + (h ^ (f & (g ^ h))) + 0xc67178f2u + w15;
            e += a;
            ab = b ^ c;
            a += RotateRight(RotateRight(RotateRight(b, 9) ^ b, 11) ^ b, 2) + (c ^ (ab & bc));
            bc = ab;

            h0 += a;
            h1 += b;
            h2 += c;
            h3 += d;
            h4 += e;
            h5 += f;
            h6 += g;
            h7 += h;
        }

        state = new State(h0, h1, h2, h3, h4, h5, h6, h7);
    }

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct State(uint H0, uint H1, uint H2, uint H3, uint H4, uint H5, uint H6, uint H7)
    {
        public static State Initial => new(
            0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u);

        public static State Read(ReadOnlySpan<byte> source) => new(
            BinaryPrimitives.ReadUInt32BigEndian(source),
            BinaryPrimitives.ReadUInt32BigEndian(source[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[8..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[12..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[16..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[20..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[24..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[28..]));

        public void WriteTo(Span<byte> destination)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, H0);
            BinaryPrimitives.WriteUInt32BigEndian(destination[4..], H1);
            BinaryPrimitives.WriteUInt32BigEndian(destination[8..], H2);
            BinaryPrimitives.WriteUInt32BigEndian(destination[12..], H3);
            BinaryPrimitives.WriteUInt32BigEndian(destination[16..], H4);
            BinaryPrimitives.WriteUInt32BigEndian(destination[20..], H5);
            BinaryPrimitives.WriteUInt32BigEndian(destination[24..], H6);
            BinaryPrimitives.WriteUInt32BigEndian(destination[28..], H7);
        }
    }
}
