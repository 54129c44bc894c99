using System.Security.Cryptography;

namespace StorageBridge.Tests.Support;

/// <summary>Deterministic random payloads and SHA-256 helpers for upload tests.</summary>
public static class TestData
{
    /// <summary><paramref name="length"/> pseudo-random bytes; the same seed gives the same bytes.</summary>
    public static byte[] Random(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static byte[] Sha256(ReadOnlySpan<byte> data) => SHA256.HashData(data);

    public static string Sha256Hex(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static string Sha256Base64(ReadOnlySpan<byte> data) => Convert.ToBase64String(SHA256.HashData(data));

    public static string Sha512Base64(ReadOnlySpan<byte> data) => Convert.ToBase64String(SHA512.HashData(data));

    /// <summary>SHA-256 of a file, as lowercase hex.</summary>
    public static string Sha256HexOfFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static byte[] Concat(params byte[][] parts)
    {
        var result = new byte[parts.Sum(p => p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }

        return result;
    }
}
