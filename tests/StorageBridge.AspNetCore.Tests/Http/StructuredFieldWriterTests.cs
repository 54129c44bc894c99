using StorageBridge.AspNetCore.Http;

namespace StorageBridge.AspNetCore.Tests.Http;

public sealed class StructuredFieldWriterTests
{
    [Theory]
    [InlineData(0L, "0")]
    [InlineData(42L, "42")]
    [InlineData(-42L, "-42")]
    [InlineData(999_999_999_999_999L, "999999999999999")]
    [InlineData(-999_999_999_999_999L, "-999999999999999")]
    public void FormatInteger(long value, string expected) =>
        Assert.Equal(expected, StructuredFieldWriter.FormatInteger(value));

    [Theory]
    [InlineData(1_000_000_000_000_000L)]
    [InlineData(-1_000_000_000_000_000L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void FormatInteger_out_of_range_throws(long value) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => StructuredFieldWriter.FormatInteger(value));

    [Fact]
    public void FormatBoolean()
    {
        Assert.Equal("?1", StructuredFieldWriter.FormatBoolean(true));
        Assert.Equal("?0", StructuredFieldWriter.FormatBoolean(false));
    }

    [Fact]
    public void FormatByteSequence()
    {
        Assert.Equal("::", StructuredFieldWriter.FormatByteSequence([]));
        Assert.Equal(":aGVsbG8=:", StructuredFieldWriter.FormatByteSequence("hello"u8));
        Assert.Equal(":/+Ah:", StructuredFieldWriter.FormatByteSequence([0xFF, 0xE0, 0x21]));
    }

    [Fact]
    public void FormatDictionary_with_integers()
    {
        Assert.Equal("min-size=0, max-size=1048576", StructuredFieldWriter.FormatDictionary(("min-size", 0L), ("max-size", 1_048_576L)));
        Assert.Equal("max-age=-1", StructuredFieldWriter.FormatDictionary([new KeyValuePair<string, long>("max-age", -1)]));
        Assert.Equal(string.Empty, StructuredFieldWriter.FormatDictionary(Array.Empty<KeyValuePair<string, long>>()));
        var parsed = StructuredFieldParser.TryParseDictionary(
            StructuredFieldWriter.FormatDictionary(("min-size", 0L), ("max-append-size", 5L)), out var dictionary);
        Assert.True(parsed);
        Assert.True(dictionary!.TryGetItem("max-append-size", out var item));
        Assert.Equal(5L, item.Value.IntegerValue);
    }

    [Theory]
    [InlineData("Max-Size")]
    [InlineData("")]
    [InlineData("1a")]
    [InlineData("a b")]
    [InlineData("a=")]
    public void FormatDictionary_rejects_invalid_keys(string key) =>
        Assert.Throws<ArgumentException>(() => StructuredFieldWriter.FormatDictionary((key, 1L)));

    [Fact]
    public void FormatDictionary_rejects_out_of_range_values() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => StructuredFieldWriter.FormatDictionary(("max-size", long.MaxValue)));

    [Theory]
    [InlineData(1.0, "1.0")]
    [InlineData(0, "0.0")]
    [InlineData(1.5, "1.5")]
    [InlineData(-0.5, "-0.5")]
    [InlineData(1.2345, "1.234")]   // half to even
    [InlineData(1.2355, "1.236")]
    [InlineData(0.0001, "0.0")]
    [InlineData(123456789012.1, "123456789012.1")]
    [InlineData(999999999999.999, "999999999999.999")]
    public void FormatDecimal(double value, string expected) =>
        Assert.Equal(expected, StructuredFieldWriter.FormatDecimal((decimal)value));

    [Fact]
    public void FormatDecimal_out_of_range_throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => StructuredFieldWriter.FormatDecimal(1_000_000_000_000m));

    [Fact]
    public void Strings_tokens_and_display_strings()
    {
        Assert.Equal("\"a \\\"b\\\" \\\\\"", StructuredFieldWriter.FormatString("a \"b\" \\"));
        Assert.Throws<ArgumentException>(() => StructuredFieldWriter.FormatString("caf\u00e9"));
        Assert.Throws<ArgumentException>(() => StructuredFieldWriter.FormatString("a\nb"));
        Assert.Equal("text/html", StructuredFieldWriter.FormatToken("text/html"));
        Assert.Throws<ArgumentException>(() => StructuredFieldWriter.FormatToken("1abc"));
        Assert.Throws<ArgumentException>(() => StructuredFieldWriter.FormatToken("a b"));
        Assert.Equal("%\"f%c3%bc%c3%bc %25 %22\"", StructuredFieldWriter.Serialize(SfBareItem.FromDisplayString("f\u00fc\u00fc % \"")));
        Assert.Throws<ArgumentException>(() => SfBareItem.FromDisplayString("\ud800"));
        Assert.Equal("@1659578233", StructuredFieldWriter.Serialize(SfBareItem.FromDate(1659578233)));
    }

    [Fact]
    public void Serialize_built_structures()
    {
        var parameters = SfParameters.Create([new("a", SfBareItem.FromBoolean(true)), new("b", SfBareItem.FromInteger(2)), new("a", SfBareItem.FromBoolean(false))]);
        var item = new SfItem(SfBareItem.FromToken("tok"), parameters);
        Assert.Equal("tok;a=?0;b=2", StructuredFieldWriter.Serialize(item));

        var list = new SfList([item, new SfMember(new SfInnerList([new SfItem(SfBareItem.FromInteger(1)), new SfItem(SfBareItem.FromString("x"))]))]);
        Assert.Equal("tok;a=?0;b=2, (1 \"x\")", StructuredFieldWriter.Serialize(list));

        var dictionary = SfDictionary.Create([
            new("ok", new SfItem(SfBareItem.FromBoolean(true))),
            new("no", new SfItem(SfBareItem.FromBoolean(false))),
            new("n", new SfItem(SfBareItem.FromByteSequence([1, 2]))),
        ]);
        Assert.Equal("ok, no=?0, n=:AQI=:", StructuredFieldWriter.Serialize(dictionary));
        Assert.Throws<ArgumentException>(() => SfDictionary.Create([new("Bad", new SfItem(SfBareItem.FromInteger(1)))]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SfBareItem.FromInteger(1_000_000_000_000_000));
    }
}
