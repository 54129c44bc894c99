using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StorageBridge.AspNetCore;
using StorageBridge.AspNetCore.Security;
using StorageBridge.Targets;
using StorageBridge.Tests.Support;

namespace StorageBridge.Protocol.Tests.Security;

/// <summary>
/// A real Kestrel server with protected file targets, SQLite metadata and a fake clock (tokens expire when a test moves
/// it): <c>shared</c> (JWT and API keys, objects under <c>{claim:tenant}/</c>), <c>acme</c> (the same, and only principals
/// with <c>tenant: acme</c>), <c>open</c> (Anonymous: true). The API keys: <see cref="AcmeKey"/> (tenant acme) and
/// <see cref="GlobexKey"/> (tenant globex). Configuration can be changed and reloaded while it runs.
/// </summary>
public sealed class SecureServer : IAsyncDisposable
{
    public const string Prefix = "/uploads";
    public const string AcmeKey = "acme-ci-key-0123456789abcdef";
    public const string GlobexKey = "globex-ci-key-fedcba9876543210";

    private readonly WebApplication _app;
    private readonly MemoryConfigurationProvider _settings;

    private SecureServer(WebApplication app, TempDirectory root, FakeTimeProvider time, HttpClient client)
    {
        _app = app;
        Root = root;
        Time = time;
        Client = client;
        Tokens = new TestTokens(time);
        _settings = ((IConfigurationRoot)app.Configuration).Providers.OfType<MemoryConfigurationProvider>().Single();
    }

    public TempDirectory Root { get; }

    /// <summary>Where the file targets keep their objects: <c>{Root}/files/{target}</c>.</summary>
    public string FilesRoot => Root.Combine("files");

    public FakeTimeProvider Time { get; }

    public TestTokens Tokens { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Requests that passed authentication, by the value of their <c>X-Test-Request</c> header.</summary>
    public ConcurrentDictionary<string, TaskCompletionSource> Admitted { get; } = new();

    public static async Task<SecureServer> StartAsync(Action<WebApplicationBuilder>? configure = null, Action<WebApplication>? map = null)
    {
        var root = new TempDirectory("storagebridge-secure");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "Sqlite",
            ["StorageBridge:Metadata:Path"] = root.Combine("metadata.db"),
            ["StorageBridge:TakeoverWait"] = "10s",
        };
        foreach (var target in new[] { "shared", "acme" })
        {
            var path = $"StorageBridge:Targets:{target}";
            settings[$"{path}:Backend"] = "FileSystem";
            settings[$"{path}:Root"] = root.Combine("files", target);
            settings[$"{path}:Prefix"] = "{claim:tenant}/";
            settings[$"{path}:KeyTemplate"] = "{yyyy}/{filename}-{id}";
            settings[$"{path}:Auth:Jwt:Issuer"] = TestTokens.Issuer;
            settings[$"{path}:Auth:Jwt:Audience"] = TestTokens.Audience;
            settings[$"{path}:Auth:Jwt:SigningKey"] = TestTokens.SigningKey;
            settings[$"{path}:Auth:ApiKeys:acme-ci:Sha256"] = TestTokens.Sha256Hex(AcmeKey);
            settings[$"{path}:Auth:ApiKeys:acme-ci:Claims:tenant"] = "acme";
            settings[$"{path}:Auth:ApiKeys:globex-ci:Sha256"] = TestTokens.Sha256Hex(GlobexKey);
            settings[$"{path}:Auth:ApiKeys:globex-ci:Claims:tenant"] = "globex";
        }

        settings["StorageBridge:Targets:acme:Auth:RequiredClaims:tenant"] = "acme";
        settings["StorageBridge:Targets:open:Backend"] = "FileSystem";
        settings["StorageBridge:Targets:open:Root"] = root.Combine("files", "open");
        settings["StorageBridge:Targets:open:Auth:Anonymous"] = "true";

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        ((IConfigurationBuilder)builder.Configuration).Add(new MemoryConfigurationSource { InitialData = settings });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddStorageBridge(builder.Configuration).UseSqliteMetadata();
        configure?.Invoke(builder);
        SecureServer? server = null;
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ITargetRequestGate>(new AdmissionProbe(() => server)));

        var app = builder.Build();
        if (map is null)
        {
            app.MapResumableUploads(Prefix);
        }
        else
        {
            map(app);
        }

        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{address.Port}/"), Timeout = TimeSpan.FromSeconds(60) };
        server = new SecureServer(app, root, time, client);
        return server;
    }

    /// <summary>Changes one configuration value (null removes it) and reloads the configuration.</summary>
    public void Reconfigure(string key, string? value)
    {
        if (value is null)
        {
            _settings.Set(key, null);
        }
        else
        {
            _settings.Set(key, value);
        }

        ((IConfigurationRoot)_app.Configuration).Reload();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
        Root.Dispose();
    }

    /// <summary>Runs after authentication: tells a test that its request was admitted (<see cref="Admitted"/>).</summary>
    private sealed class AdmissionProbe(Func<SecureServer?> server) : ITargetRequestGate
    {
        public int Order => TargetGateOrder.Authentication + 1;

        public ValueTask<bool> PassAsync(HttpContext context, UploadTarget target)
        {
            if (context.Request.Headers["X-Test-Request"].ToString() is { Length: > 0 } name && server() is { } s)
            {
                s.Admitted.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }

            return ValueTask.FromResult(true);
        }
    }
}

/// <summary>How a request authenticates (one row of the auth matrix).</summary>
public enum Credential
{
    None,
    BadSignature,
    Expired,
    WrongAudience,
    OtherTenant,
    Owner,
    ApiKey,
    WrongApiKey,
}

public static class Credentials
{
    /// <summary>The owner of the uploads the matrix attacks: alice of tenant acme.</summary>
    public const string OwnerSubject = "alice";

    public static void Apply(HttpRequestMessage request, SecureServer server, Credential credential)
    {
        var tokens = server.Tokens;
        switch (credential)
        {
            case Credential.BadSignature:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Jwt(OwnerSubject, "acme", badSignature: true));
                break;
            case Credential.Expired:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Jwt(OwnerSubject, "acme", lifetime: TimeSpan.FromMinutes(-10)));
                break;
            case Credential.WrongAudience:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Jwt(OwnerSubject, "acme", audience: "someone-else"));
                break;
            case Credential.OtherTenant:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Jwt("bob", "globex"));
                break;
            case Credential.Owner:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Jwt(OwnerSubject, "acme"));
                break;
            case Credential.ApiKey:
                request.Headers.Authorization = new AuthenticationHeaderValue("ApiKey", SecureServer.AcmeKey);
                break;
            case Credential.WrongApiKey:
                request.Headers.Add("X-Api-Key", "not-a-key-of-this-target");
                break;
            case Credential.None:
            default:
                break;
        }
    }
}
