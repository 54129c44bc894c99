using System.Security.Cryptography;
using Microsoft.Extensions.Primitives;
using StorageBridge.AspNetCore.Http;
using StorageBridge.Coordination;

namespace StorageBridge.AspNetCore.Tests.Http;

public sealed class DigestFieldsTests
{
    // SHA-256 / SHA-512 of "hello world".
    private const string Sha256B64 = "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=";
    private const string Sha512B64 = "MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw==";

    private static readonly byte[] Sha256Bytes = SHA256.HashData("hello world"u8);
    private static readonly byte[] Sha512Bytes = SHA512.HashData("hello world"u8);

    [Fact]
    public void Constants_match_the_data()
    {
        Assert.Equal(Sha256B64, Convert.ToBase64String(Sha256Bytes));
        Assert.Equal(Sha512B64, Convert.ToBase64String(Sha512Bytes));
    }

    [Fact]
    public void Parses_a_single_sha256()
    {
        Assert.True(DigestFields.TryParse($"sha-256=:{Sha256B64}:", out var digests));
        var digest = Assert.Single(digests);
        Assert.Equal(DigestValue.Sha256, digest.Algorithm);
        Assert.Equal(Sha256Bytes, digest.Value);
    }

    [Theory]
    [InlineData($"sha-512=:{Sha512B64}:, sha-256=:{Sha256B64}:")]
    [InlineData($"sha-256=:{Sha256B64}:, sha-512=:{Sha512B64}:")]
    [InlineData($"sha-256=:{Sha256B64}:,sha-512=:{Sha512B64}:;p=1, md5=:XrY7u+Ae7tCTyyK7j1rNww==:")]
    public void Strongest_is_sha512(string field)
    {
        Assert.True(DigestFields.TryParse(field, out var digests));
        Assert.Equal([DigestValue.Sha512, DigestValue.Sha256], digests.Select(d => d.Algorithm));
        Assert.True(DigestFields.TryParseStrongest(field, out var strongest));
        Assert.Equal(DigestValue.Sha512, strongest!.Algorithm);
        Assert.Equal(Sha512Bytes, strongest.Value);
    }

    [Theory]
    [InlineData($"md5=:XrY7u+Ae7tCTyyK7j1rNww==:, sha-256=:{Sha256B64}:")]
    [InlineData($"sha=:Kq5sNclPz7QV2+lfQIuc6R7oRu0=:, sha-256=:{Sha256B64}:, unixsum=30637")]
    [InlineData($"sha-256=:{Sha256B64}:;note=\"x\"")]
    [InlineData($" sha-256=:{Sha256B64}:  ")]
    [InlineData($"sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:, sha-256=:{Sha256B64}:")]
    [InlineData($"crc32c=:yZRlqg==:, md5=1, adler=?1, foo=(1 2), sha-256=:{Sha256B64}:")]
    public void Unknown_algorithms_are_ignored(string field)
    {
        Assert.True(DigestFields.TryParseStrongest(field, out var digest));
        Assert.NotNull(digest);
        Assert.Equal(DigestValue.Sha256, digest.Algorithm);
        Assert.Equal(Sha256Bytes, digest.Value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("md5=:XrY7u+Ae7tCTyyK7j1rNww==:")]
    [InlineData("sha=:Kq5sNclPz7QV2+lfQIuc6R7oRu0=:, unixsum=30637")]
    [InlineData("sha-384=:AAAA:")]
    public void No_supported_algorithm_is_valid_but_empty(string? field)
    {
        Assert.True(DigestFields.TryParse(field, out var digests));
        Assert.Empty(digests);
        Assert.True(DigestFields.TryParseStrongest(field, out var digest));
        Assert.Null(digest);
    }

    [Theory]
    [InlineData("sha-256=:aGVsbG8=:")]                     // 5 bytes
    [InlineData($"sha-512=:{Sha256B64}:")]                 // 32 bytes for sha-512
    [InlineData($"sha-256=:{Sha512B64}:")]                 // 64 bytes for sha-256
    [InlineData($"sha-256=:{Sha256B64}:, sha-512=::")]      // the weaker one valid does not save the field
    [InlineData("sha-256=\"uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=\"")]
    [InlineData("sha-256")]
    [InlineData("sha-256=1")]
    [InlineData($"sha-256=(:{Sha256B64}:)")]
    [InlineData($"SHA-256=:{Sha256B64}:")]                 // keys are lower case
    [InlineData($"sha-256=:{Sha256B64}")]                  // unterminated
    [InlineData("sha-256=:uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvze!=:")]
    [InlineData($"sha-256=:{Sha256B64}:,")]
    [InlineData($"sha-256 = :{Sha256B64}:")]
    [InlineData("A=1")]
    public void Invalid_fields_fail(string field)
    {
        Assert.False(DigestFields.TryParse(field, out var digests));
        Assert.Null(digests);
        Assert.False(DigestFields.TryParseStrongest(field, out var digest));
        Assert.Null(digest);
    }

    [Fact]
    public void Last_duplicate_wins_and_multiple_lines_are_joined()
    {
        var other = new byte[32];
        other[0] = 7;
        var field = $"sha-256=:{Sha256B64}:, sha-256=:{Convert.ToBase64String(other)}:";
        Assert.True(DigestFields.TryParseStrongest(field, out var digest));
        Assert.Equal(other, digest!.Value);

        // StringValues converts to string by joining the lines with ",".
        var lines = new StringValues([$"sha-256=:{Sha256B64}:", $"sha-512=:{Sha512B64}:"]);
        Assert.True(DigestFields.TryParseStrongest(lines, out digest));
        Assert.Equal(DigestValue.Sha512, digest!.Algorithm);
        Assert.True(DigestFields.TryParseStrongest(StringValues.Empty, out digest));
        Assert.Null(digest);
    }

    [Theory]
    [InlineData("sha-256=1, sha-512=3", DigestValue.Sha512)]
    [InlineData("sha-256=10, sha-512=3", DigestValue.Sha256)]
    [InlineData("sha-256=5, sha-512=5", DigestValue.Sha512)]
    [InlineData("sha-512=0, sha-256=1", DigestValue.Sha256)]
    [InlineData("sha-256=0, sha-512=0", null)]
    [InlineData("sha-256=0", null)]
    [InlineData("md5=10, sha-256=1", DigestValue.Sha256)]
    [InlineData("md5=?1, sha=(1), sha-512=2", DigestValue.Sha512)]
    [InlineData("unixsum=10", null)]
    [InlineData("sha-256=1;q=2", DigestValue.Sha256)]
    [InlineData("sha-256=3, sha-256=0", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void Want_selects_preferred_supported_algorithm(string? field, string? expected)
    {
        Assert.True(DigestFields.TrySelectWanted(field, out var algorithm));
        Assert.Equal(expected, algorithm);
    }

    [Theory]
    [InlineData("sha-256=11")]
    [InlineData("sha-256=-1")]
    [InlineData("sha-256=1.5")]
    [InlineData("sha-256")]
    [InlineData("sha-256=?1")]
    [InlineData("sha-512=\"5\"")]
    [InlineData("sha-256=(1)")]
    [InlineData("sha-256=1,")]
    [InlineData("SHA-256=1")]
    [InlineData("sha-256=1 sha-512=2")]
    public void Want_invalid_fields_fail(string field)
    {
        Assert.False(DigestFields.TrySelectWanted(field, out var algorithm));
        Assert.Null(algorithm);
        Assert.False(DigestFields.TryParseWant(field, out var preferences));
        Assert.Null(preferences);
    }

    [Fact]
    public void Want_preferences_and_available_subset()
    {
        Assert.True(DigestFields.TryParseWant("sha-256=7, md5=10, sha-512=2", out var preferences));
        Assert.Equal([new(DigestValue.Sha256, 7), new KeyValuePair<string, int>(DigestValue.Sha512, 2)], preferences);

        string[] onlySha256 = [DigestValue.Sha256];
        Assert.True(DigestFields.TrySelectWanted("sha-512=10, sha-256=1", onlySha256, out var algorithm));
        Assert.Equal(DigestValue.Sha256, algorithm);
        Assert.True(DigestFields.TrySelectWanted("sha-512=10", onlySha256, out algorithm));
        Assert.Null(algorithm);
        Assert.True(DigestFields.TrySelectWanted("sha-512=10, sha-256=0", onlySha256, out algorithm));
        Assert.Null(algorithm);
    }

    [Fact]
    public void Format_digest_fields()
    {
        Assert.Equal("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:", DigestFields.Format(DigestValue.Sha256, SHA256.HashData([])));
        Assert.Equal(
            "sha-512=:z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==:",
            DigestFields.Format(DigestValue.Sha512, SHA512.HashData([])));
        Assert.Throws<ArgumentException>(() => DigestFields.Format("SHA-256", Sha256Bytes));

        // Round trip through the parser.
        Assert.True(DigestFields.TryParseStrongest(DigestFields.Format(DigestValue.Sha256, Sha256Bytes), out var digest));
        Assert.Equal(Sha256Bytes, digest!.Value);
    }

    [Fact]
    public void Supported_algorithms()
    {
        Assert.True(DigestFields.IsSupported("sha-256"));
        Assert.True(DigestFields.IsSupported("sha-512"));
        Assert.False(DigestFields.IsSupported("md5"));
        Assert.False(DigestFields.IsSupported("sha"));
        Assert.False(DigestFields.IsSupported("SHA-256"));
        Assert.False(DigestFields.IsSupported(null));
        Assert.Equal(32, DigestFields.ExpectedLength("sha-256"));
        Assert.Equal(64, DigestFields.ExpectedLength("sha-512"));
        Assert.Equal(0, DigestFields.ExpectedLength("unixsum"));
    }
}
