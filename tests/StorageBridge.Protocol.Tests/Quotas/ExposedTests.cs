using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Configuration;
using StorageBridge.Host;
using StorageBridge.Targets;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Tus.TusProtocol;

namespace StorageBridge.Protocol.Tests.Quotas;

/// <summary>StorageBridge:Exposed: set by the Host from where it listens; an exposed target without MaxUploadSize is capped.</summary>
public sealed class ExposedTests : IDisposable
{
    private readonly TempDirectory _root = new("sb-exposed");

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("http://localhost:5000", true)]
    [InlineData("https://[::1]:8443", true)]
    [InlineData("http://127.10.0.1:80", true)]
    [InlineData("http://0.0.0.0:8080", false)]
    [InlineData("http://*:8080", false)]
    [InlineData("http://+:80", false)]
    [InlineData("http://[::]:8080", false)]
    [InlineData("http://192.168.1.20:8080", false)]
    [InlineData("http://bridge.example.com:8080", false)]
    public void Loopback_urls_are_told_apart(string url, bool loopback) => Assert.Equal(loopback, HostExposure.IsLoopback(url));

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("urls", "http://127.0.0.1:8080;http://localhost:8081", false)]
    [InlineData("urls", "http://127.0.0.1:8080;http://0.0.0.0:8081", true)]
    [InlineData("ASPNETCORE_URLS", "http://+:80", true)]
    [InlineData("http_ports", "8080", true)]
    [InlineData("ASPNETCORE_HTTPS_PORTS", "8443", true)]
    [InlineData("Kestrel:Endpoints:Http:Url", "http://127.0.0.1:9000", false)]
    [InlineData("Kestrel:Endpoints:Http:Url", "http://10.0.0.5:9000", true)]
    public void The_host_is_exposed_when_it_listens_beyond_loopback(string? key, string? value, bool exposed)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(key is null ? [] : [new KeyValuePair<string, string?>(key, value)])
            .Build();
        Assert.Equal(exposed, HostExposure.ListensBeyondLoopback(configuration));
    }

    [Fact]
    public async Task An_exposed_target_without_max_upload_size_gets_the_documented_cap_and_a_configured_one_stays()
    {
        await using var server = await LimitsServer.StartAsync(new Dictionary<string, string?>
        {
            ["StorageBridge:Exposed"] = "true",
            ["StorageBridge:Metadata:Path"] = _root.Combine("meta.db"),
            ["StorageBridge:Targets:default:Root"] = _root.Combine("files"),
            ["StorageBridge:Targets:default:Auth:Anonymous"] = "true",
            ["StorageBridge:Targets:sized:Root"] = _root.Combine("sized"),
            ["StorageBridge:Targets:sized:Auth:Anonymous"] = "true",
            ["StorageBridge:Targets:sized:MaxUploadSize"] = "50GiB",
        });
        var targets = server.Services.GetRequiredService<UploadTargetRegistry>();
        Assert.Equal(10L * 1024 * 1024 * 1024, targets.Find("default")!.Options.MaxUploadSize);
        Assert.Equal(StorageBridgeOptions.ExposedMaxUploadSize.Bytes, targets.Find("default")!.Options.MaxUploadSize);
        Assert.True(targets.Find("default")!.Options.MaxUploadSizeDefaulted);
        Assert.Equal(50L * 1024 * 1024 * 1024, targets.Find("sized")!.Options.MaxUploadSize);
        Assert.False(targets.Find("sized")!.Options.MaxUploadSizeDefaulted);

        using (var options = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "uploads/default")))
        {
            Assert.Equal("10737418240", Header(options, "Tus-Max-Size"));
        }

        using var tooLarge = await server.Client.SendAsync(Creation("default", (10L * 1024 * 1024 * 1024) + 1));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        await server.Client.TusCreateAsync("sized", (10L * 1024 * 1024 * 1024) + 1);
    }

    [Fact]
    public async Task Not_exposed_keeps_targets_uncapped()
    {
        await using var server = await LimitsServer.StartAsync(new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Path"] = _root.Combine("meta.db"),
            ["StorageBridge:Targets:default:Root"] = _root.Combine("files"),
        });
        var target = server.Services.GetRequiredService<UploadTargetRegistry>().Find("default")!;
        Assert.Null(target.Options.MaxUploadSize);
        Assert.False(target.Options.MaxUploadSizeDefaulted);
    }
}
