using Microsoft.Extensions.Configuration;
using StorageBridge.Configuration;

namespace StorageBridge.Core.Tests.Configuration;

/// <summary>Sizes, durations and booleans as configuration binds them (TypeConverters), and errors naming the key.</summary>
public sealed class ConfigurationValuesTests
{
    private sealed class Values
    {
        public ByteSize? Size { get; set; }
        public Duration? D { get; set; }
        public bool F { get; set; } = true;
    }

    private static Values Bind(string name, string? value)
    {
        var values = new Values();
        var section = new ConfigurationBuilder()
            .AddInMemoryCollection([new KeyValuePair<string, string?>("A:B:" + name, value)])
            .Build()
            .GetSection("A:B");
        ConfigurationBinding.Bind(section, values);
        return values;
    }

    [Theory]
    [InlineData("1024", 1024)]
    [InlineData("0", 0)]
    [InlineData("16MiB", 16L * 1024 * 1024)]
    [InlineData("16 MiB", 16L * 1024 * 1024)]
    [InlineData("4.5MB", 4_500_000)]
    [InlineData("0.5KiB", 512)]
    [InlineData("2KB", 2000)]
    [InlineData("2kB", 2000)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("3GB", 3_000_000_000)]
    [InlineData("5TiB", 5L << 40)]
    [InlineData("1TB", 1_000_000_000_000)]
    [InlineData("7B", 7)]
    public void Sizes_parse(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var size));
        Assert.Equal(expected, size.Bytes);
        Assert.Equal(expected, Bind("Size", " " + text + " ").Size?.Bytes);
    }

    [Theory]
    [InlineData("12XB")]
    [InlineData("1.5")]
    [InlineData("0.3KB1")]
    [InlineData("-1")]
    [InlineData("1e3")]
    [InlineData("MiB")]
    [InlineData("16mib")]
    [InlineData("9223372036854775808")]
    [InlineData("8388608TiB")]
    [InlineData("99999999999999999999TiB")]
    public void Bad_sizes_do_not_parse_and_name_the_key(string text)
    {
        Assert.False(ByteSize.TryParse(text, out _));
        var error = Assert.Throws<StorageBridgeConfigurationException>(() => Bind("Size", text));
        Assert.Equal("A:B:Size", error.Key);
        Assert.Contains("is not a size", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_sizes_are_null()
    {
        Assert.Null(Bind("Other", "5").Size);
        Assert.Null(Bind("Size", " ").Size);
    }

    [Theory]
    [InlineData("45s", 45)]
    [InlineData("30m", 30 * 60)]
    [InlineData("1.5h", 90 * 60)]
    [InlineData("7d", 7 * 24 * 3600)]
    [InlineData("1.00:00:00", 24 * 3600)]
    [InlineData("00:10:00", 600)]
    public void Durations_parse(string text, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Bind("D", text).D?.Value);
    }

    [Fact]
    public void Durations_none_zero_and_missing()
    {
        Assert.True(Bind("D", "none").D?.IsNone);
        Assert.True(Bind("D", "None").D?.IsNone);
        Assert.True(Bind("D", "0").D?.IsNone);
        Assert.Null(Bind("D", "").D);
        Assert.Null(Bind("X", "5s").D);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-1d")]
    [InlineData("0s")]
    [InlineData("10x")]
    [InlineData("-00:01:00")]
    public void Bad_durations_name_the_key(string text)
    {
        var error = Assert.Throws<StorageBridgeConfigurationException>(() => Bind("D", text));
        Assert.Equal("A:B:D", error.Key);
        Assert.StartsWith("Invalid configuration 'A:B:D'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Booleans_parse_or_name_the_key()
    {
        Assert.True(Bind("F", "true").F);
        Assert.False(Bind("F", "False").F);
        Assert.True(Bind("F", null).F);
        Assert.Equal("A:B:F", Assert.Throws<StorageBridgeConfigurationException>(() => Bind("F", "yes")).Key);
    }
}
