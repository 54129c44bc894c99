using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Tests;
using StorageBridge.Tests.Support;

namespace StorageBridge.Protocol.Tests.Resumable;

/// <summary>
/// Two Kestrel instances sharing one SQLite metadata store and one storage folder, like two containers behind a load
/// balancer without sticky sessions: the chunks of one file alternate between them, three at a time, shuffled and
/// duplicated. Only the store's compare-and-swap coordinates the instances.
/// </summary>
public sealed class ResumableTwoInstanceTests : IAsyncLifetime
{
    private readonly TempDirectory root = new("storagebridge-resumable-two");
    private readonly List<WebApplication> apps = [];
    private readonly List<HttpClient> clients = [];

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 2; i++)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["StorageBridge:Metadata:Provider"] = "Sqlite",
                ["StorageBridge:Metadata:Path"] = root.Combine("metadata.db"),
                ["StorageBridge:LeaseDuration"] = "2s",
                ["StorageBridge:InstanceId"] = $"instance-{i}",
                ["StorageBridge:Targets:default:Root"] = root.Combine("files"),
            });
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
            builder.Services.AddStorageBridge(builder.Configuration).UseSqliteMetadata();
            var app = builder.Build();
            app.MapResumableUploads("/uploads");
            await app.StartAsync();
            apps.Add(app);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            clients.Add(new HttpClient { BaseAddress = new Uri(address + "/"), Timeout = TimeSpan.FromSeconds(60) });
        }
    }

    [Theory]
    [InlineData(ChunkMode.Multipart, 11)]
    [InlineData(ChunkMode.Octet, 12)]
    public async Task Chunks_alternating_between_two_instances_assemble_the_file(ChunkMode mode, int seed)
    {
        var file = new byte[(25 * 40_000) + 777];
        new Random(seed).NextBytes(file);
        using var alternating = new HttpClient(new AlternatingHandler(clients)) { BaseAddress = clients[0].BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        var answer = await ResumableChunks.UploadAsync(alternating, "uploads/default", file, 40_000,
            new ChunkUploadOptions { Mode = mode, ShuffleSeed = seed, Duplicates = 4 });

        foreach (var client in clients)
        {
            var downloaded = await client.GetByteArrayAsync(new Uri(answer.Location.TrimStart('/') + "/content", UriKind.Relative));
            Assert.Equal(SHA256.HashData(file), SHA256.HashData(downloaded));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var client in clients)
        {
            client.Dispose();
        }

        foreach (var app in apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        root.Dispose();
    }

    /// <summary>Sends each request to the next instance in turn (a round-robin load balancer).</summary>
    private sealed class AlternatingHandler(List<HttpClient> instances) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int next;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var instance = instances[Interlocked.Increment(ref next) % instances.Count];
            request.RequestUri = new Uri(instance.BaseAddress!, request.RequestUri!.PathAndQuery);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
