using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.AspNetCore;
using StorageBridge.Configuration;

namespace StorageBridge.Protocol.Tests.Security;

/// <summary>Authentication settings that cannot be right stop start-up naming the key.</summary>
public sealed class AuthStartupTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sb-auth-startup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void An_exposed_service_refuses_a_target_without_credentials()
    {
        var error = Assert.Throws<StorageBridgeConfigurationException>(() => Build(("StorageBridge:Exposed", "true")));
        Assert.Equal("StorageBridge:Targets:photos:Auth", error.Key);
    }

    [Fact]
    public void An_exposed_service_starts_with_an_explicitly_anonymous_or_protected_target()
    {
        using (Build(("StorageBridge:Exposed", "true"), ("StorageBridge:Targets:photos:Auth:Anonymous", "true")))
        {
        }

        using (Build(("StorageBridge:Exposed", "true"), ("StorageBridge:Targets:photos:Auth:ApiKeys:ci:Sha256", new string('a', 64))))
        {
        }
    }

    [Theory]
    [InlineData("StorageBridge:Targets:photos:Auth:Jwt", "StorageBridge:Targets:photos:Auth:Jwt:Audience", "storagebridge")]
    [InlineData("StorageBridge:Targets:photos:Auth:ApiKeys:ci:Sha256", "StorageBridge:Targets:photos:Auth:ApiKeys:ci:Sha256", "not-a-hash")]
    [InlineData("StorageBridge:Targets:photos:Auth:ApiKeys:ci:Sha256", "StorageBridge:Targets:photos:Auth:ApiKeys:ci:Sha256", "abcdef")]
    [InlineData("StorageBridge:Targets:photos:Auth:Jwt:SigningKey", "StorageBridge:Targets:photos:Auth:Jwt:SigningKey", "c2hvcnQ=")]
    [InlineData("StorageBridge:Exposed", "StorageBridge:Exposed", "maybe")]
    public void Bad_authentication_settings_fail_naming_the_key(string expectedKey, string key, string value)
    {
        var settings = new List<(string, string)> { (key, value) };
        if (key.EndsWith(":SigningKey", StringComparison.Ordinal))
        {
            settings.Add(("StorageBridge:Targets:photos:Auth:Jwt:Issuer", "https://issuer.test"));
            settings.Add(("StorageBridge:Targets:photos:Auth:Jwt:Audience", "storagebridge"));
        }

        var error = Assert.Throws<StorageBridgeConfigurationException>(() => Build([.. settings]));
        Assert.Equal(expectedKey, error.Key);
    }

    private WebApplication Build(params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Path"] = Path.Combine(_root, "meta", "meta.db"),
            ["StorageBridge:Targets:photos:Backend"] = "FileSystem",
            ["StorageBridge:Targets:photos:Root"] = Path.Combine(_root, "files"),
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
