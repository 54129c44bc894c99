using System.Security.Cryptography;
using System.Text;
using StorageBridge.Hashing;

namespace StorageBridge.Core.Tests.Hashing;

public sealed class ResumableSha256Tests
{
    private static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static byte[] Hash(ReadOnlySpan<byte> data)
    {
        var sha = new ResumableSha256();
        sha.Append(data);
        return sha.GetCurrentHash();
    }

    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    [InlineData("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")]
    public void Fips_180_vectors(string message, string expectedHex) =>
        Assert.Equal(expectedHex, Convert.ToHexStringLower(Hash(Encoding.ASCII.GetBytes(message))));

    [Fact]
    public void Million_a()
    {
        var sha = new ResumableSha256();
        var chunk = new byte[1000];
        Array.Fill(chunk, (byte)'a');
        for (var i = 0; i < 1000; i++)
        {
            sha.Append(chunk);
        }

        Assert.Equal(1_000_000, sha.BytesHashed);
        Assert.Equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", Convert.ToHexStringLower(sha.GetCurrentHash()));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(55)]
    [InlineData(56)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(119)]
    [InlineData(120)]
    [InlineData(128)]
    [InlineData(1000)]
    [InlineData(1024 * 1024 + 3)]
    public void Matches_system_sha256_in_one_call(int length)
    {
        var data = RandomBytes(length, length);
        Assert.Equal(SHA256.HashData(data), Hash(data));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(55, 3)]
    [InlineData(56, 4)]
    [InlineData(63, 5)]
    [InlineData(64, 6)]
    [InlineData(65, 7)]
    [InlineData(1000, 8)]
    [InlineData(1024 * 1024 + 3, 9)]
    public void Random_splits_with_export_and_import_at_every_split(int length, int seed)
    {
        var data = RandomBytes(length, seed);
        var expected = SHA256.HashData(data);
        var random = new Random(seed * 7919);
        for (var round = 0; round < 5; round++)
        {
            var splits = Enumerable.Range(0, random.Next(1, 12)).Select(_ => random.Next(length + 1)).Append(length).Order().ToArray();
            var sha = new ResumableSha256();
            var offset = 0;
            foreach (var split in splits)
            {
                sha.Append(data.AsSpan(offset, split - offset));
                offset = split;
                Assert.Equal(offset, sha.BytesHashed);
                Assert.Equal(SHA256.HashData(data.AsSpan(0, offset)), sha.GetCurrentHash());

                var state = sha.Export();
                Assert.StartsWith("s256:", state, StringComparison.Ordinal);
                Assert.True(state.Length <= 143);
                sha = ResumableSha256.Import(state);
                Assert.Equal(offset, sha.BytesHashed);
                Assert.Equal(state, sha.Export());
            }

            Assert.Equal(expected, sha.GetCurrentHash());
        }
    }

    [Fact]
    public void Byte_by_byte_with_export_every_byte()
    {
        var data = RandomBytes(200, 42);
        var sha = new ResumableSha256();
        for (var i = 0; i < data.Length; i++)
        {
            sha = ResumableSha256.Import(sha.Export());
            sha.Append(data.AsSpan(i, 1));
            Assert.Equal(SHA256.HashData(data.AsSpan(0, i + 1)), sha.GetCurrentHash());
        }
    }

    [Fact]
    public void GetCurrentHash_does_not_disturb_the_running_state()
    {
        var data = RandomBytes(300, 1);
        var sha = new ResumableSha256();
        sha.Append(data.AsSpan(0, 100));
        var before = sha.Export();
        var first = sha.GetCurrentHash();
        Assert.Equal(first, sha.GetCurrentHash());
        Assert.Equal(before, sha.Export());
        sha.Append(data.AsSpan(100));
        Assert.Equal(SHA256.HashData(data), sha.GetCurrentHash());

        Span<byte> destination = stackalloc byte[40];
        sha.GetCurrentHash(destination);
        Assert.Equal(SHA256.HashData(data), destination[..32].ToArray());
        Assert.Throws<ArgumentException>(() => sha.GetCurrentHash(new byte[31]));
    }

    [Fact]
    public void Export_format_is_exact()
    {
        Assert.Equal("s256:AAAAAAAAAABqCeZnu2euhTxu83KlT_U6UQ5Sf5sFaIwfg9mrW-DNGQ", new ResumableSha256().Export());

        var sha = new ResumableSha256();
        sha.Append("abc"u8);
        var state = sha.Export();
        Assert.Equal("s256:AAAAAAAAAANqCeZnu2euhTxu83KlT_U6UQ5Sf5sFaIwfg9mrW-DNGWFiYw", state);
        var copy = ResumableSha256.Import(state);
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Convert.ToHexStringLower(copy.GetCurrentHash()));
    }

    public static TheoryData<string> Garbage()
    {
        var sha = new ResumableSha256();
        sha.Append(RandomBytes(70, 3)); // 6 buffered bytes
        var valid = sha.Export();
        var fresh = new ResumableSha256().Export();
        return new TheoryData<string>
        {
            "",
            "garbage",
            "s256:",
            "s256",
            "S256:" + valid[5..],
            "s512:" + valid[5..],
            "s256:!!!!",
            "s256:AAAA",
            valid[..^1],
            valid[..^2],
            valid + "A",
            valid + "AA",
            valid + "=",
            valid[..20] + " " + valid[20..],
            valid[..20] + "+" + valid[21..],
            fresh + "AAAA",
            fresh[..^1] + "R",                                // non-zero trailing bits (not what Export writes)                                   // buffered bytes that the length does not account for
            "s256:gAAAAAAAAABqCeZnu2euhTxu83KlT_U6UQ5Sf5sFaIwfg9mrW-DNGQ", // negative length
            "s256:IAAAAAAAAABqCeZnu2euhTxu83KlT_U6UQ5Sf5sFaIwfg9mrW-DNGQ", // length >= 2^61
            "s256:" + new string('A', 200),
            " " + valid,
            valid + "\n",
        };
    }

    [Theory]
    [MemberData(nameof(Garbage))]
    public void Import_of_garbage_throws_FormatException(string state)
    {
        Assert.Throws<FormatException>(() => ResumableSha256.Import(state));
        Assert.False(ResumableSha256.TryImport(state, out var hash));
        Assert.Null(hash);
    }

    [Fact]
    public void Import_null_throws_ArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => ResumableSha256.Import(null!));
        Assert.False(ResumableSha256.TryImport(null, out _));
    }

    [Fact]
    public void Import_is_independent_of_the_source()
    {
        var data = RandomBytes(500, 11);
        var a = new ResumableSha256();
        a.Append(data.AsSpan(0, 130));
        var b = ResumableSha256.Import(a.Export());
        a.Append(data.AsSpan(130, 10));
        b.Append(data.AsSpan(130));
        a.Append(data.AsSpan(140));
        Assert.Equal(SHA256.HashData(data), a.GetCurrentHash());
        Assert.Equal(SHA256.HashData(data), b.GetCurrentHash());
    }
}
