using Microsoft.Extensions.Configuration;
using StorageBridge.Configuration;

namespace StorageBridge.Backends.AzureBlob.Tests;

/// <summary>Target keys of <c>Backend: AzureBlob</c> read into backend options and capabilities; bad values name their key.</summary>
public sealed class AzureBlobOptionsTests
{
    private static IConfigurationSection Target(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>("StorageBridge:Targets:az:" + v.Key, v.Value)))
            .Build()
            .GetSection("StorageBridge:Targets:az");

    [Fact]
    public void Tails_are_segmented_by_default_and_MaxTailSegments_is_read_and_checked()
    {
        var defaults = AzureBlobBackendFactory.ReadOptions(Target(("Container", "c")));
        Assert.Equal(32, defaults.MaxTailSegments);
        Assert.Equal(4L * 1024 * 1024, defaults.MinBlockSize);
        Assert.Equal(1, AzureBlobBackendFactory.ReadOptions(Target(("MaxTailSegments", "1"))).MaxTailSegments);

        var error = Assert.Throws<StorageBridgeConfigurationException>(() => AzureBlobBackendFactory.ReadOptions(Target(("MaxTailSegments", "0"))));
        Assert.Equal("StorageBridge:Targets:az:MaxTailSegments", error.Key);
        Assert.Throws<StorageBridgeConfigurationException>(() => AzureBlobBackendFactory.ReadOptions(Target(("MaxTailSegments", "many"))));
    }
}
