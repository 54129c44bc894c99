using System.Buffers.Binary;
using System.Numerics;

namespace StorageBridge.GcsEmulator;

/// <summary>CRC-32C (Castagnoli), as GCS reports it: base64 of the big-endian checksum.</summary>
public static class Crc32C
{
    public const uint Initial = 0xFFFFFFFF;

    // BitOperations.Crc32C is the reflected Castagnoli step without the final inversion (hardware-accelerated).
    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return state;
    }

    public static uint Finish(uint state) => ~state;

    public static string ToBase64(uint crc)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, crc);
        return Convert.ToBase64String(bytes);
    }
}
