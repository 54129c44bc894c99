using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Configuration;
using StorageBridge.Tests;

namespace StorageBridge.Backends.AzureBlob.Tests;

/// <summary>Target keys of <c>Backend: AzureBlob</c> read into backend options and capabilities; bad values name their key.</summary>
public sealed class AzureBlobOptionsTests
{
    private static IConfigurationSection Target(params (string Key, string Value)[] values) =>
        BridgeConfiguration.Section(values.Select(v => new KeyValuePair<string, string?>("StorageBridge:Targets:az:" + v.Key, v.Value)));

    private static AzureBlobBackendOptions ReadOptions(IConfigurationSection section) =>
        BridgeConfiguration.ReadTargetOptions<AzureBlobTargetOptions>(section, "az", s => s.AddStorageBridgeAzureBlob()).ToBackendOptions();

    [Fact]
    public void Tails_are_segmented_by_default_and_MaxTailSegments_is_read_and_checked()
    {
        var defaults = ReadOptions(Target(("Container", "c"), ("ConnectionString", "UseDevelopmentStorage=true")));
        Assert.Equal(32, defaults.MaxTailSegments);
        Assert.Equal(4L * 1024 * 1024, defaults.MinBlockSize);
        Assert.Equal(1, ReadOptions(Target(("Container", "c"), ("ConnectionString", "UseDevelopmentStorage=true"), ("MaxTailSegments", "1"))).MaxTailSegments);

        var error = Assert.Throws<StorageBridgeConfigurationException>(() => ReadOptions(Target(("Container", "c"), ("ConnectionString", "UseDevelopmentStorage=true"), ("MaxTailSegments", "0"))));
        Assert.Equal("StorageBridge:Targets:az:MaxTailSegments", error.Key);
        Assert.Throws<StorageBridgeConfigurationException>(() => ReadOptions(Target(("Container", "c"), ("ConnectionString", "UseDevelopmentStorage=true"), ("MaxTailSegments", "many"))));
    }

    [Theory]
    [InlineData("8d")]
    [InlineData("169h")]
    [InlineData("none")]
    public void Expiration_over_seven_days_is_refused_at_start_up(string expiration)
    {
        // Azure discards uncommitted blocks a week after the last Put Block: a longer-lived upload would lose its parts.
        var error = Assert.Throws<StorageBridgeConfigurationException>(() => ReadOptions(Target(
            ("Container", "c"), ("ConnectionString", "UseDevelopmentStorage=true"), ("Expiration", expiration))));
        Assert.Equal("StorageBridge:Targets:az:Expiration", error.Key);
        Assert.Contains("7d", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("7d")]
    [InlineData("1h")]
    public void Expiration_of_at_most_seven_days_is_accepted(string expiration) =>
        ReadOptions(Target(("Container", "c"), ("ConnectionString", "UseDevelopmentStorage=true"), ("Expiration", expiration)));
}
