using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.AspNetCore;
using StorageBridge.AspNetCore.Security;
using StorageBridge.Configuration;

namespace StorageBridge.Protocol.Tests.Browser;

/// <summary>Bad Cors and Downloads settings stop start-up naming the key; good ones are normalized to what browsers send.</summary>
public sealed class CorsConfigurationTests : IDisposable
{
    private const string Cors = "StorageBridge:Targets:web:Cors";
    private readonly string _root = Directory.CreateTempSubdirectory("sb-cors-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(Cors + ":AllowedOrigins:0", "https://app.example.com/", Cors + ":AllowedOrigins", "trailing '/'")]
    [InlineData(Cors + ":AllowedOrigins:0", "https://app.example.com/upload", Cors + ":AllowedOrigins", "not an origin")]
    [InlineData(Cors + ":AllowedOrigins:0", "ftp://app.example.com", Cors + ":AllowedOrigins", "not an origin")]
    [InlineData(Cors + ":AllowedOrigins:0", "app.example.com", Cors + ":AllowedOrigins", "not an origin")]
    [InlineData(Cors + ":AllowedOrigins:0", "null", Cors + ":AllowedOrigins", "cannot be allowed")]
    [InlineData(Cors + ":AllowedOrigins:0", "https://*.example.com", Cors + ":AllowedOrigins", "wildcards")]
    [InlineData(Cors + ":AllowedOrigins", "*,https://app.example.com", Cors + ":AllowedOrigins", "only entry")]
    [InlineData(Cors + ":MaxAge", "soon", Cors + ":MaxAge", "not a duration")]
    [InlineData(Cors + ":AllowedOrigin", "https://app.example.com", Cors + ":AllowedOrigin", "unknown key")]
    [InlineData("StorageBridge:Targets:web:Downloads", "maybe", "StorageBridge:Targets:web:Downloads", "true or false")]
    public void Bad_value_fails_start_up_naming_the_key(string key, string value, string named, string message)
    {
        var error = Assert.Throws<StorageBridgeConfigurationException>(() => Build((key, value)));
        Assert.Equal(named, error.Key);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Origins_are_normalized_and_a_comma_list_is_accepted()
    {
        using var app = Build(
            (Cors + ":AllowedOrigins", "HTTPS://App.Example.com:443, http://localhost:8080,http://[::1]:5000"),
            (Cors + ":MaxAge", "1h"),
            ("StorageBridge:Targets:web:Downloads", "false"));
        var policies = app.Services.GetRequiredService<TargetBrowserPolicies>();
        var policy = Assert.IsType<Microsoft.AspNetCore.Cors.Infrastructure.CorsPolicy>(policies.CorsFor("web"));
        Assert.Equal(["https://app.example.com", "http://localhost:8080", "http://[::1]:5000"], policy.Origins);
        Assert.Equal(TimeSpan.FromHours(1), policy.PreflightMaxAge);
        Assert.False(policies.DownloadsEnabled("web"));
        Assert.Null(policies.CorsFor("default"));
        Assert.True(policies.DownloadsEnabled("default"));
    }

    [Fact]
    public void Code_configured_named_options_work_without_configuration()
    {
        using var app = Build(
            configure: services =>
            {
                services.Configure<TargetCorsOptions>("web", o => o.AllowedOrigins.Add("https://app.example.com"));
                services.Configure<TargetDownloadOptions>("web", o => o.Enabled = false);
            });
        var policies = app.Services.GetRequiredService<TargetBrowserPolicies>();
        Assert.Equal(["https://app.example.com"], policies.CorsFor("web")!.Origins);
        Assert.False(policies.DownloadsEnabled("web"));
    }

    private WebApplication Build(params (string Key, string Value)[] settings) => Build(null, settings);

    private WebApplication Build(Action<IServiceCollection>? configure, params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "InMemory",
            ["StorageBridge:Targets:default:Root"] = Path.Combine(_root, "default"),
            ["StorageBridge:Targets:web:Root"] = Path.Combine(_root, "web"),
        });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.Services.AddStorageBridge(builder.Configuration).UseInMemoryMetadata();
        configure?.Invoke(builder.Services);
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
