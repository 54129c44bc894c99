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
    public void Integers(long value, string expected) =>
        Assert.Equal(expected, StructuredFieldWriter.Serialize(SfBareItem.FromInteger(value)));

    [Theory]
    [InlineData(1_000_000_000_000_000L)]
    [InlineData(-1_000_000_000_000_000L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void Integers_out_of_range_throw(long value) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SfBareItem.FromInteger(value));

    [Fact]
    public void FormatBoolean()
    {
        Assert.Equal("?1", StructuredFieldWriter.FormatBoolean(true));
        Assert.Equal("?0", StructuredFieldWriter.FormatBoolean(false));
    }

    [Fact]
    public void Byte_sequences()
    {
        Assert.Equal("::", StructuredFieldWriter.Serialize(SfBareItem.FromByteSequence([])));
        Assert.Equal(":aGVsbG8=:", StructuredFieldWriter.Serialize(SfBareItem.FromByteSequence("hello"u8.ToArray())));
        Assert.Equal(":/+Ah:", StructuredFieldWriter.Serialize(SfBareItem.FromByteSequence([0xFF, 0xE0, 0x21])));
    }

    [Fact]
    public void Dictionaries_with_integers_round_trip()
    {
        var dictionary = SfDictionary.Create([
            new("min-size", new SfItem(SfBareItem.FromInteger(0))),
            new("max-append-size", new SfItem(SfBareItem.FromInteger(5))),
            new("max-age", new SfItem(SfBareItem.FromInteger(-1))),
        ]);
        var text = StructuredFieldWriter.Serialize(dictionary);
        Assert.Equal("min-size=0, max-append-size=5, max-age=-1", text);
        Assert.True(StructuredFieldParser.TryParseDictionary(text, out var parsed));
        Assert.True(parsed.TryGetItem("max-append-size", out var item));
        Assert.Equal(5L, item.Value.IntegerValue);
    }

    [Theory]
    [InlineData("Max-Size")]
    [InlineData("")]
    [InlineData("1a")]
    [InlineData("a b")]
    [InlineData("a=")]
    public void Dictionaries_reject_invalid_keys(string key) =>
        Assert.Throws<ArgumentException>(() => SfDictionary.Create([new(key, new SfItem(SfBareItem.FromInteger(1)))]));

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
    public void Decimals(double value, string expected) =>
        Assert.Equal(expected, StructuredFieldWriter.Serialize(SfBareItem.FromDecimal((decimal)value)));

    [Fact]
    public void Decimals_out_of_range_throw() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SfBareItem.FromDecimal(1_000_000_000_000m));

    [Fact]
    public void Strings_tokens_and_display_strings()
    {
        Assert.Equal("\"a \\\"b\\\" \\\\\"", StructuredFieldWriter.Serialize(SfBareItem.FromString("a \"b\" \\")));
        Assert.Throws<ArgumentException>(() => SfBareItem.FromString("caf\u00e9"));
        Assert.Throws<ArgumentException>(() => SfBareItem.FromString("a\nb"));
        Assert.Equal("text/html", StructuredFieldWriter.Serialize(SfBareItem.FromToken("text/html")));
        Assert.Throws<ArgumentException>(() => SfBareItem.FromToken("1abc"));
        Assert.Throws<ArgumentException>(() => SfBareItem.FromToken("a b"));
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

        var inner = new SfMember(new SfInnerList([new SfItem(SfBareItem.FromInteger(1)), new SfItem(SfBareItem.FromString("x"))]));
        Assert.Equal("(1 \"x\")", StructuredFieldWriter.Serialize(inner));

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
