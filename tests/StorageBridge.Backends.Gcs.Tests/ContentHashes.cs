using System.Security.Cryptography;
using StorageBridge.GcsEmulator;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>sha-256 (hex), md5 and crc32c (base64, as GCS reports them) of some content.</summary>
public sealed record ContentHashes(string Sha256, string Md5, string Crc32c)
{
    public static async Task<ContentHashes> OfAsync(Stream content, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        uint crc = Crc32C.Initial;
        byte[] buffer = new byte[81920];
        int read;
        while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            md5.AppendData(buffer, 0, read);
            crc = Crc32C.Append(crc, buffer.AsSpan(0, read));
        }

        return new ContentHashes(Convert.ToHexStringLower(sha.GetHashAndReset()), Convert.ToBase64String(md5.GetHashAndReset()), Crc32C.ToBase64(Crc32C.Finish(crc)));
    }

    public static async Task<ContentHashes> OfFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return await OfAsync(file, cancellationToken);
    }

    public static ContentHashes Of(ReadOnlySpan<byte> content) =>
        new(Convert.ToHexStringLower(SHA256.HashData(content)), Convert.ToBase64String(MD5.HashData(content)),
            Crc32C.ToBase64(Crc32C.Finish(Crc32C.Append(Crc32C.Initial, content))));

    /// <summary>
    /// Downloads the object with the official client and checks its bytes (sha-256) and GCS's own md5Hash and crc32c
    /// against <paramref name="expected"/>.
    /// </summary>
    public static async Task AssertObjectAsync(GcsEmulatorHost emulator, string key, ContentHashes expected, CancellationToken cancellationToken)
    {
        var stored = await emulator.Client.GetObjectAsync(emulator.Bucket, key, cancellationToken: cancellationToken);
        Assert.Equal(expected.Md5, stored.Md5Hash);
        Assert.Equal(expected.Crc32c, stored.Crc32c);
        string file = Path.GetTempFileName();
        try
        {
            await using (var download = File.Create(file))
            {
                await emulator.Client.DownloadObjectAsync(emulator.Bucket, key, download, cancellationToken: cancellationToken);
            }

            Assert.Equal(expected, await OfFileAsync(file, cancellationToken));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
