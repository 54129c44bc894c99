using Amazon.S3.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Backends;
using StorageBridge.Configuration;
using StorageBridge.Tests;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>Configuration of <c>Backend: S3</c> targets: errors name the key; values reach the client and the capabilities.</summary>
[Collection(S3Collection.Name)]
public sealed class S3BackendFactoryTests(S3Endpoint endpoint)
{
    [Theory]
    [InlineData("Bucket", null, "StorageBridge:Targets:t:Bucket")]
    [InlineData("MaxParts", "0", "StorageBridge:Targets:t:MaxParts")]
    [InlineData("MaxParts", "10001", "StorageBridge:Targets:t:MaxParts")]
    [InlineData("MaxParts", "many", "StorageBridge:Targets:t:MaxParts")]
    [InlineData("ServiceUrl", "not a url", "StorageBridge:Targets:t:ServiceUrl")]
    [InlineData("SecretKey", null, "StorageBridge:Targets:t:SecretKey")] // the missing half is named
    [InlineData("ForcePathStyle", "maybe", "StorageBridge:Targets:t:ForcePathStyle")]
    [InlineData("MaxTailSegments", "0", "StorageBridge:Targets:t:MaxTailSegments")]
    [InlineData("MaxConcurrentParts", "17", "StorageBridge:Targets:t:MaxConcurrentParts")]
    [InlineData("MaxConcurrentParts", "-1", "StorageBridge:Targets:t:MaxConcurrentParts")]
    public void Bad_configuration_stops_start_up_naming_the_key(string name, string? value, string expectedKey)
    {
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Targets:t:Backend"] = "S3",
            ["StorageBridge:Targets:t:Bucket"] = "b",
            ["StorageBridge:Targets:t:ServiceUrl"] = "http://127.0.0.1:9",
            ["StorageBridge:Targets:t:AccessKey"] = "a",
            ["StorageBridge:Targets:t:SecretKey"] = "s",
        };
        settings["StorageBridge:Targets:t:" + name] = value;
        var section = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("StorageBridge");

        var ex = Assert.Throws<StorageBridgeConfigurationException>(() => BridgeConfiguration.ReadTargets(section, s => s.AddStorageBridgeS3()));

        Assert.Equal(expectedKey, ex.Key);
    }

    [Fact]
    public void Capabilities_follow_S3_limits_and_MaxParts()
    {
        var settings = endpoint.TargetSettings("t");
        settings["StorageBridge:Targets:t:MaxParts"] = "1000";
        settings["StorageBridge:Targets:t:MaxTailSegments"] = "5";
        settings["StorageBridge:Targets:u:MaxConcurrentParts"] = "4";
        foreach (var (key, value) in endpoint.TargetSettings("u"))
        {
            settings.TryAdd(key, value);
        }

        var section = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("StorageBridge");

        var registry = BridgeConfiguration.ReadTargets(section, s => s.AddStorageBridgeS3());
        var caps = registry.Find("t")!.Backend.Capabilities;

        Assert.Equal(
            new BackendCapabilities(5L << 20, 1, 1000, 5L << 30, 8 << 20, MaxTailSegments: 5, DefaultConcurrentParts: S3Backend.DefaultConcurrentParts),
            caps);
        Assert.Equal(S3Backend.DefaultConcurrentParts, registry.Find("t")!.MaxConcurrentParts);
        Assert.Equal(4, registry.Find("u")!.MaxConcurrentParts);
        Assert.Equal(S3BackendOptions.DefaultMaxTailSegments, registry.Find("u")!.Backend.Capabilities.MaxTailSegments);
        (registry.Find("u")!.Backend as IDisposable)?.Dispose();
        (registry.Find("t")!.Backend as IDisposable)?.Dispose();
    }

    [Fact]
    public void AddStorageBridgeS3_registers_the_factory_once()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddStorageBridgeS3();
        services.AddStorageBridgeS3();
        using var provider = services.BuildServiceProvider();

        var factories = provider.GetServices<IUploadBackendFactory>().ToList();

        Assert.Single(factories);
        Assert.Equal("S3", factories[0].Name);
    }

    [Fact]
    public async Task Content_type_and_metadata_reach_the_object_as_ASCII_safe_headers()
    {
        var options = endpoint.Options("meta/");
        using var backend = new S3Backend(endpoint.CreateClient(), options);
        using var inspector = endpoint.CreateClient();
        var upload = new UploadRecord
        {
            Id = UploadIds.New(),
            Target = "t",
            ObjectKey = options.Prefix + "photo.jpg",
            ContentType = "image/jpeg",
            FileName = "Grüße aus Köln.jpg",
            Metadata = new Dictionary<string, string> { ["Camera Model"] = "X100", ["Owner"] = "Zoë" },
        };
        upload = upload with { Session = await backend.StartAsync(BackendUpload.From(upload), CancellationToken.None) };
        var part = await backend.WritePartAsync(BackendUpload.From(upload), 1, 0, new byte[] { 1, 2, 3 }, CancellationToken.None);
        await backend.CompleteAsync(BackendUpload.From(upload with { Parts = [part], Offset = 3 }), CancellationToken.None);

        var head = await inspector.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = endpoint.Bucket, Key = upload.ObjectKey });

        Assert.Equal(3, head.ContentLength);
        Assert.Equal("image/jpeg", head.Headers.ContentType);
        Assert.Equal("X100", head.Metadata["x-amz-meta-cameramodel"]);
        Assert.Equal("Zo%C3%AB", head.Metadata["x-amz-meta-owner"]);
        Assert.Equal("Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln.jpg", head.Metadata["x-amz-meta-filename"]);
    }
}
