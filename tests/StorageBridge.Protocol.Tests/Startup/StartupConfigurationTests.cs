using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.AspNetCore;
using StorageBridge.Configuration;
using StorageBridge.Targets;

namespace StorageBridge.Protocol.Tests.Startup;

/// <summary>Bad configuration must stop the application while it starts, naming the exact key.</summary>
public sealed class StartupConfigurationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sb-startup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("StorageBridge:Targets:small:MaxUploadSize", "12XB")]
    [InlineData("StorageBridge:Targets:small:MaxAppendSize", "-5")]
    [InlineData("StorageBridge:Targets:small:MaxAppendSize", "0")]
    [InlineData("StorageBridge:Targets:small:PartSize", "0")]
    [InlineData("StorageBridge:Targets:small:Expiration", "soon")]
    [InlineData("StorageBridge:Targets:small:InterimResponses", "sometimes")]
    [InlineData("StorageBridge:Targets:small:KeyTemplate", "{filename}")]
    [InlineData("StorageBridge:Targets:small:Backend", "Tape")]
    [InlineData("StorageBridge:Metadata:Provider", "Papyrus")]
    [InlineData("StorageBridge:LeaseDuration", "forever")]
    public void Bad_value_fails_start_up_naming_the_key(string key, string value)
    {
        var error = Assert.Throws<StorageBridgeConfigurationException>(() => Build((key, value)));
        Assert.Equal(key, error.Key);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Min_append_larger_than_max_append_names_min_append()
    {
        var error = Assert.Throws<StorageBridgeConfigurationException>(() => Build(
            ("StorageBridge:Targets:small:MinAppendSize", "2MiB"),
            ("StorageBridge:Targets:small:MaxAppendSize", "1MiB")));
        Assert.Equal("StorageBridge:Targets:small:MinAppendSize", error.Key);
    }

    [Fact]
    public void Bad_target_name_fails_start_up()
    {
        var error = Assert.Throws<StorageBridgeConfigurationException>(() => Build(("StorageBridge:Targets:bad.name:MaxUploadSize", "1")));
        Assert.Equal("StorageBridge:Targets:bad.name", error.Key);
    }

    [Fact]
    public void No_configuration_gives_the_default_file_target_and_env_style_targets_add_to_it()
    {
        using var app = Build(("StorageBridge:Targets:small:MaxUploadSize", "1024"), ("StorageBridge:Targets:small:MaxAppendSize", "1KiB"));
        var targets = app.Services.GetRequiredService<UploadTargetRegistry>();
        Assert.Equal(["default", "small"], targets.All.Select(t => t.Name).Order(StringComparer.Ordinal));
        var small = targets.Find("SMALL")!;
        Assert.Equal(1024, small.Options.MaxUploadSize);
        Assert.Equal(1024, small.Limits.MaxAppendSize);
        Assert.Equal("FileSystem", targets.Find("default")!.Options.Backend);
        Assert.Equal(TimeSpan.FromDays(1), targets.Find("default")!.Expiration);
    }

    private WebApplication Build(params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Path"] = Path.Combine(_root, "meta", "meta.db"),
            ["StorageBridge:Targets:default:Root"] = Path.Combine(_root, "files"),
        });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.Services.AddStorageBridge(builder.Configuration).UseSqliteMetadata();
        var app = builder.Build();
        try
        {
            app.MapResumableUploads();
            return app;
        }
        catch
        {
            ((IDisposable)app).Dispose();
            throw;
        }
    }
}
