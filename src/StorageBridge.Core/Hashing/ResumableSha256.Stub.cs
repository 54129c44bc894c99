using System.Security.Cryptography;

namespace StorageBridge.Hashing;

// Temporary stand-in until the managed resumable implementation lands; Export is not resumable.
public sealed class ResumableSha256
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesHashed { get; private set; }

    public static ResumableSha256 Import(string state) => state.Length == 0 ? new ResumableSha256() : throw new FormatException("stub");

    public void Append(ReadOnlySpan<byte> data)
    {
        _hash.AppendData(data);
        BytesHashed += data.Length;
    }

    public string Export() => BytesHashed == 0 ? "" : throw new NotSupportedException("stub");

    public byte[] GetCurrentHash() => _hash.GetCurrentHash();
}
