using System.IO.Compression;
using System.Text;

namespace StorageBridge.Metadata.DynamoDb;

/// <summary>
/// The stored form of a record document: plain JSON while small (readable in the console), gzip above
/// <see cref="DynamoDbUploadMetadataStore.CompressAboveBytes"/>. Large records are part lists (numbers, offsets,
/// ETags), which compress several times over; that keeps them under DynamoDB's 400 KB item limit.
/// </summary>
internal static class RecordDocument
{
    /// <summary>The gzip bytes of <paramref name="json"/>, or null when it is small enough to store as text.</summary>
    public static byte[]? Encode(string json)
    {
        if (Encoding.UTF8.GetByteCount(json) <= DynamoDbUploadMetadataStore.CompressAboveBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(json));
        }

        return buffer.ToArray();
    }

    public static string Decode(MemoryStream compressed)
    {
        compressed.Position = 0;
        using var gzip = new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
