using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Backends;
using StorageBridge.Configuration;
using StorageBridge.Core.Tests.Coordination;
using StorageBridge.FileSystem;
using StorageBridge.Targets;
using StorageBridge.Tests;

namespace StorageBridge.Core.Tests.Configuration;

public sealed class TargetConfigurationTests
{
    private const string Targets = "StorageBridge:Targets:";

    /// <summary>An S3-like backend (64 KiB minimum, 16 KiB alignment) over files, so PartSize rules can be checked.</summary>
    private sealed class S3LikeFactory : UploadBackendFactory<S3LikeOptions>
    {
        public override string Name => "S3Like";

        protected override IUploadBackend CreateBackend(string targetName, string path, S3LikeOptions options, IServiceProvider services) =>
            FaultInjectingBackend.Multipart(
                new FileSystemBackend(new FileSystemBackendOptions { Root = Path.Combine(Path.GetTempPath(), "sb-config-unused") }),
                FaultInjectingBackend.S3Like(alignment: 16 * 1024));
    }

    private sealed class S3LikeOptions : StorageBridgeTargetOptions;

    private static IConfigurationSection Section(params (string Key, string? Value)[] values) =>
        BridgeConfiguration.Section(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)));

    private static UploadTargetRegistry Read(params (string Key, string? Value)[] values) =>
        BridgeConfiguration.ReadTargets(Section(values), s => s.AddBackend<S3LikeFactory, S3LikeOptions, TargetOptionsValidator<S3LikeOptions>>());

    private static StorageBridgeConfigurationException Fails(params (string Key, string? Value)[] values) =>
        Assert.Throws<StorageBridgeConfigurationException>(() => Read(values));

    [Fact]
    public void A_declared_target_replaces_the_embedded_default()
    {
        var registry = Read((Targets + "photos:Backend", "S3Like"));

        Assert.Equal("photos", Assert.Single(registry.All).Name);
        Assert.Null(registry.Find("default"));
    }

    [Fact]
    public void Without_configuration_the_default_file_target_exists()
    {
        var registry = Read();

        var target = Assert.Single(registry.All);
        Assert.Equal("default", target.Name);
        var files = Assert.IsType<FileSystemBackend>(target.Backend);
        Assert.Equal(Path.GetFullPath("data/objects"), files.Root);
        Assert.Equal("FileSystem", target.Options.Backend);
        Assert.Equal(TimeSpan.FromDays(1), target.Expiration);
        Assert.Equal("{id}", target.Options.KeyTemplate);
        Assert.Equal("", target.Options.Prefix);
        Assert.True(target.Options.InterimResponses);
        Assert.Equal(1024 * 1024, target.PartSize);
        Assert.Equal(new UploadLimits(null, 0, null, null), target.Limits);
    }

    [Fact]
    public void StagingDirectory_puts_tails_on_local_disk_and_an_unusable_one_names_its_key()
    {
        var directory = Path.Combine(Path.GetTempPath(), "sb-staging-" + Guid.NewGuid().ToString("N"));
        try
        {
            var registry = Read((Targets + "s3:Backend", "S3Like"), (Targets + "s3:StagingDirectory", directory), (Targets + "default:Backend", "FileSystem"));
            var local = Assert.IsType<LocalTailStore>(registry.Find("s3")!.Tails);
            Assert.Equal(Path.GetFullPath(directory), local.Root);
            Assert.True(Directory.Exists(directory));
            var fallback = registry.Find("default")!;
            Assert.Same(fallback.Backend.Tails, fallback.Tails);

            // A path under a regular file cannot be a directory.
            var file = Path.Combine(directory, "a-file");
            File.WriteAllText(file, "x");
            var error = Fails((Targets + "s3:Backend", "S3Like"), (Targets + "s3:StagingDirectory", Path.Combine(file, "below")));
            Assert.Equal("StorageBridge:Targets:s3:StagingDirectory", error.Key);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Configured_targets_are_read_with_sizes_durations_and_templates()
    {
        var registry = Read(
            (Targets + "videos:Backend", "S3Like"),
            (Targets + "videos:PartSize", "16MiB"),
            (Targets + "videos:MaxUploadSize", "4.5MB"),
            (Targets + "videos:MinAppendSize", "1024"),
            (Targets + "videos:MaxAppendSize", "6MB"),
            (Targets + "videos:Expiration", "12h"),
            (Targets + "videos:KeyTemplate", "{target}/{yyyy}/{id}-{filename}"),
            (Targets + "videos:Prefix", "in/"),
            (Targets + "videos:InterimResponses", "false"),
            (Targets + "Default:Root", "/tmp/sb-config-root"),
            (Targets + "Default:Expiration", "none"));

        Assert.Equal(2, registry.All.Count);
        var videos = registry.Find("VIDEOS")!;
        Assert.Equal("videos", videos.Name);
        Assert.Equal("S3Like", videos.Options.Backend);
        Assert.Equal(16 * 1024 * 1024, videos.PartSize);
        Assert.Equal(4_500_000, videos.Options.MaxUploadSize);
        Assert.Equal(1024, videos.Options.MinAppendSize);
        Assert.Equal(6_000_000, videos.Options.MaxAppendSize);
        Assert.Equal(TimeSpan.FromHours(12), videos.Expiration);
        Assert.Equal("{target}/{yyyy}/{id}-{filename}", videos.Options.KeyTemplate);
        Assert.Equal("in/", videos.Options.Prefix);
        Assert.False(videos.Options.InterimResponses);
        Assert.Equal(new UploadLimits(4_500_000, 0, 6_000_000, 1024), videos.Limits);

        var fallback = registry.Find("default")!;
        Assert.Equal("Default", fallback.Name);
        Assert.Equal("/tmp/sb-config-root", ((FileSystemBackend)fallback.Backend).Root);
        Assert.Null(fallback.Expiration);
    }

    [Fact]
    public void Without_MaxUploadSize_a_part_tracking_target_is_capped_at_MaxParts_times_PartSize()
    {
        var target = Read((Targets + "s3:Backend", "S3Like"), (Targets + "s3:PartSize", "128KiB")).Find("s3")!;

        Assert.Equal(10 * 128 * 1024, target.Limits.MaxSize);
    }

    [Theory]
    [InlineData("MaxUploadSize", "12XB")]
    [InlineData("MaxUploadSize", "-5")]
    [InlineData("MaxUploadSize", "1.5")]
    [InlineData("MaxUploadSize", "16mib")]
    [InlineData("MaxUploadSize", "99999999999999999999TiB")]
    [InlineData("MinAppendSize", "lots")]
    [InlineData("PartSize", "0")]
    [InlineData("PartSize", "600MiB")]
    [InlineData("MaxAppendSize", "0")]
    [InlineData("KeyTemplate", "{filename}")]
    [InlineData("KeyTemplate", "uploads/{ID}")]
    [InlineData("Expiration", "soon")]
    [InlineData("Expiration", "-1d")]
    [InlineData("Expiration", "0s")]
    [InlineData("InterimResponses", "maybe")]
    [InlineData("Backend", "Nope")]
    [InlineData("MaxConcurrentParts", "2")] // the file backend writes in place: 0 or 1 only
    [InlineData("MaxConcurrentParts", "some")]
    public void A_bad_value_names_its_key(string name, string value)
    {
        var error = Fails((Targets + "small:" + name, value));

        Assert.Equal(Targets + "small:" + name, error.Key);
        Assert.Contains(Targets + "small:" + name, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1KiB")] // below the 64 KiB minimum
    [InlineData("65KiB")] // not a multiple of 16 KiB
    public void PartSize_must_suit_the_backend(string value)
    {
        var error = Fails((Targets + "s3:Backend", "S3Like"), (Targets + "s3:PartSize", value));

        Assert.Equal(Targets + "s3:PartSize", error.Key);
    }

    [Fact]
    public void MaxConcurrentParts_defaults_to_the_backend_and_is_capped_for_in_place_backends()
    {
        Assert.Equal(0, Read((Targets + "small:Backend", "FileSystem")).Find("small")!.MaxConcurrentParts);
        Assert.Equal(1, Read((Targets + "small:MaxConcurrentParts", "1")).Find("small")!.MaxConcurrentParts);
        Assert.Equal(16, Read((Targets + "s3:Backend", "S3Like"), (Targets + "s3:MaxConcurrentParts", "16")).Find("s3")!.MaxConcurrentParts);
        Assert.Equal(Targets + "s3:MaxConcurrentParts", Fails((Targets + "s3:Backend", "S3Like"), (Targets + "s3:MaxConcurrentParts", "17")).Key);
    }

    [Fact]
    public void MinAppendSize_above_MaxAppendSize_names_MinAppendSize()
    {
        var error = Fails((Targets + "small:MinAppendSize", "2MB"), (Targets + "small:MaxAppendSize", "1MB"));

        Assert.Equal(Targets + "small:MinAppendSize", error.Key);
    }

    [Theory]
    [InlineData("bad.name")]
    [InlineData("with space")]
    [InlineData("ünïcode")]
    public void A_bad_target_name_names_the_target_section(string name)
    {
        var error = Fails((Targets + name + ":Backend", "FileSystem"));

        Assert.Equal(Targets + name, error.Key);
    }

    [Fact]
    public void A_target_name_of_65_characters_is_refused()
    {
        var name = new string('a', 65);

        Assert.Equal(Targets + name, Fails((Targets + name + ":Backend", "FileSystem")).Key);
        Assert.NotNull(Read((Targets + name[..64] + ":Backend", "FileSystem")).Find(name[..64]));
    }

    [Fact]
    public void The_default_target_is_validated_like_any_other()
    {
        Assert.Equal(Targets + "default:Backend", Fails((Targets + "default:Backend", "Nope")).Key);
    }

    [Fact]
    public void Engine_options_are_read_and_bad_durations_name_their_key()
    {
        var options = BridgeConfiguration.ReadEngineOptions(Section(
            ("StorageBridge:LeaseDuration", "30s"),
            ("StorageBridge:TombstoneRetention", "2d"),
            ("StorageBridge:TakeoverWait", "00:00:05"),
            ("StorageBridge:InstanceId", "node-7")));

        Assert.Equal(TimeSpan.FromSeconds(30), options.LeaseDuration);
        Assert.Equal(TimeSpan.FromDays(2), options.TombstoneRetention);
        Assert.Equal(TimeSpan.FromSeconds(5), options.TakeoverWait);
        Assert.Equal(TimeSpan.FromMinutes(1), options.CleanupInterval);
        Assert.Equal("node-7", options.InstanceId);
        Assert.Equal(64L * 1024 * 1024, options.TailCacheSize);
        Assert.Equal(0, BridgeConfiguration.ReadEngineOptions(Section(("StorageBridge:TailCacheSize", "0"))).TailCacheSize);
        Assert.Equal(16L * 1024 * 1024, BridgeConfiguration.ReadEngineOptions(Section(("StorageBridge:TailCacheSize", "16MiB"))).TailCacheSize);
        var size = Assert.Throws<StorageBridgeConfigurationException>(() =>
            BridgeConfiguration.ReadEngineOptions(Section(("StorageBridge:TailCacheSize", "lots"))));
        Assert.Equal("StorageBridge:TailCacheSize", size.Key);

        var error = Assert.Throws<StorageBridgeConfigurationException>(() =>
            BridgeConfiguration.ReadEngineOptions(Section(("StorageBridge:LeaseDuration", "soon"))));
        Assert.Equal("StorageBridge:LeaseDuration", error.Key);
    }
}
