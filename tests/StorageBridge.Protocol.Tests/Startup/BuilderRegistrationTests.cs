using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.Configuration;
using StorageBridge.Targets;

namespace StorageBridge.Protocol.Tests.Startup;

/// <summary>
/// AddStorageBridge(o =&gt; ...) with targets and the store added in code: the same options as configuration, validated
/// when the host starts (ValidateOnStart), and the metadata store prepared before the server accepts requests.
/// </summary>
public sealed class BuilderRegistrationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sb-builder-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Code_only_targets_are_the_only_targets_and_the_store_is_ready_after_start()
    {
        var database = Path.Combine(_root, "meta", "uploads.db");
        await using var app = Build(
            bridge => bridge
                .AddFileSystemTarget("files", o =>
                {
                    o.Root = Path.Combine(_root, "files");
                    o.MaxUploadSize = ByteSize.Parse("1MiB");
                    o.Expiration = Duration.None;
                })
                .UseSqliteMetadata(o => o.Path = database),
            configure: o => o.LeaseDuration = TimeSpan.FromSeconds(30));

        await app.StartAsync();

        var target = Assert.Single(app.Services.GetRequiredService<UploadTargetRegistry>().All);
        Assert.Equal("files", target.Name);
        Assert.Equal(1024 * 1024, target.Limits.MaxSize);
        Assert.Null(target.Expiration);
        Assert.Equal(TimeSpan.FromSeconds(30), app.Services.GetRequiredService<StorageBridge.Coordination.StorageBridgeEngineOptions>().LeaseDuration);
        // InitializeAsync ran while the host started (no request, no MapResumableUploads).
        Assert.True(File.Exists(database));
        await app.StopAsync();
    }

    [Fact]
    public async Task A_bad_value_set_in_code_stops_start_up_naming_the_key()
    {
        await using var app = Build(bridge => bridge
            .AddFileSystemTarget("small", o =>
            {
                o.Root = Path.Combine(_root, "files");
                o.KeyTemplate = "{filename}";
            })
            .UseSqliteMetadata(o => o.Path = Path.Combine(_root, "meta", "meta.db")));

        var error = await Assert.ThrowsAsync<StorageBridgeConfigurationException>(() => app.StartAsync());
        Assert.Equal("StorageBridge:Targets:small:KeyTemplate", error.Key);
        Assert.Contains("StorageBridge:Targets:small:KeyTemplate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_metadata_store_start_up_names_the_provider_key()
    {
        await using var app = Build(bridge => bridge.AddFileSystemTarget("files", o => o.Root = Path.Combine(_root, "files")));

        var error = await Assert.ThrowsAsync<StorageBridgeConfigurationException>(() => app.StartAsync());
        Assert.Equal("StorageBridge:Metadata:Provider", error.Key);
    }

    [Fact]
    public async Task Code_adds_to_the_configured_target_of_the_same_name()
    {
        await using var app = Build(
            bridge => bridge
                .AddFileSystemTarget("small", o => o.MaxAppendSize = ByteSize.FromKibibytes(1))
                .UseSqliteMetadata(o => o.Path = Path.Combine(_root, "meta", "meta.db")),
            settings: new Dictionary<string, string?>
            {
                ["StorageBridge:Targets:small:Root"] = Path.Combine(_root, "files"),
                ["StorageBridge:Targets:small:MaxUploadSize"] = "4KiB",
                ["StorageBridge:Targets:default:Root"] = Path.Combine(_root, "files"),
            });

        await app.StartAsync();

        var small = app.Services.GetRequiredService<UploadTargetRegistry>().Find("small")!;
        Assert.Equal(new UploadLimits(4096, 0, 1024, null), small.Limits);
        Assert.NotNull(app.Services.GetRequiredService<UploadTargetRegistry>().Find("default"));
        await app.StopAsync();
    }

    private static WebApplication Build(
        Action<IStorageBridgeBuilder> bridge,
        Dictionary<string, string?>? settings = null,
        Action<StorageBridgeOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        if (settings is null)
        {
            bridge(builder.Services.AddStorageBridge(configure));
        }
        else
        {
            builder.Configuration.AddInMemoryCollection(settings);
            bridge(builder.Services.AddStorageBridge(builder.Configuration, configure));
        }

        return builder.Build();
    }
}
