using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Configuration;

namespace StorageBridge.Backends.AzureBlob.Tests;

/// <summary>
/// Azure failures through a real Kestrel, with faults in the SDK's HTTP transport: a permanent refusal (403) answers
/// 502 without Retry-After, an outage (503 past the SDK's retries) answers 503 with Retry-After, and neither moves the
/// offset HEAD reports.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureFailureStatusTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const int BlockSize = 256 * 1024;
    private readonly FaultInjectingHandler faults = new();
    private WebApplication? app;
    private HttpClient? client;

    private HttpClient Client => client!;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "InMemory",
            ["StorageBridge:Targets:azure:Backend"] = FaultyAzureFactory.BackendName,
            ["StorageBridge:Targets:azure:PartSize"] = BlockSize.ToString(CultureInfo.InvariantCulture),
        };
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddStorageBridge(builder.Configuration).UseInMemoryMetadata();
        var backend = azurite.CreateBackend(new AzureBlobBackendOptions { MinBlockSize = BlockSize, BlockSize = BlockSize }, faults);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadBackendFactory>(new FaultyAzureFactory(backend)));
        app = builder.Build();
        app.MapResumableUploads("/uploads");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        client = new HttpClient { BaseAddress = new Uri(address + "/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        client?.Dispose();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        faults.Dispose();
    }

    [Fact]
    public async Task Azure_refusing_with_403_answers_502_without_Retry_After_and_keeps_the_offset()
    {
        var source = AzureEngine.Bytes((3 * BlockSize) + 100, seed: 403);
        var location = await CreateAsync(source, BlockSize + 10);
        Assert.Equal(BlockSize + 10, await HeadOffsetAsync(location));

        faults.StageBlockFailure = HttpStatusCode.Forbidden;
        faults.StageBlockErrorCode = "AuthorizationPermissionMismatch";
        faults.FailStageBlocks = 100;
        using (var refused = await PatchAsync(location, source, BlockSize + 10))
        {
            Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
            Assert.False(refused.Headers.Contains("Retry-After"));
            var problem = await refused.Content.ReadAsStringAsync();
            Assert.True(problem.Contains("AuthorizationPermissionMismatch", StringComparison.Ordinal), problem);
            Assert.DoesNotContain("AccountKey", problem, StringComparison.OrdinalIgnoreCase);
        }

        faults.FailStageBlocks = 0;
        Assert.Equal(BlockSize + 10, await HeadOffsetAsync(location));

        using var retried = await PatchAsync(location, source, BlockSize + 10);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
    }

    [Fact]
    public async Task Azure_answering_503_past_the_SDK_retries_answers_503_with_Retry_After()
    {
        var source = AzureEngine.Bytes((3 * BlockSize) + 100, seed: 503);
        var location = await CreateAsync(source, BlockSize + 10);

        faults.StageBlockFailure = HttpStatusCode.ServiceUnavailable;
        faults.FailStageBlocks = 100;
        using (var unavailable = await PatchAsync(location, source, BlockSize + 10))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
            Assert.Equal("1", unavailable.Headers.GetValues("Retry-After").Single());
        }

        faults.FailStageBlocks = 0;
        Assert.Equal(BlockSize + 10, await HeadOffsetAsync(location));
    }

    private async Task<Uri> CreateAsync(byte[] source, int first)
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/azure") { Content = new ByteArrayContent(source, 0, first) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", source.Length.ToString(CultureInfo.InvariantCulture));
        using var created = await Client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return created.Headers.Location!;
    }

    private async Task<HttpResponseMessage> PatchAsync(Uri location, byte[] source, int offset)
    {
        using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(source, offset, source.Length - offset) };
        patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        patch.Headers.Add("Upload-Draft-Interop-Version", "8");
        patch.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        patch.Headers.Add("Upload-Complete", "?1");
        return await Client.SendAsync(patch);
    }

    private async Task<long> HeadOffsetAsync(Uri location)
    {
        using var head = new HttpRequestMessage(HttpMethod.Head, location);
        head.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await Client.SendAsync(head);
        return long.Parse(response.Headers.GetValues("Upload-Offset").Single(), CultureInfo.InvariantCulture);
    }

    /// <summary>Hands the target a backend whose container client sends through the fault-injecting transport.</summary>
    private sealed class FaultyAzureFactory(AzureBlobBackend backend) : IUploadBackendFactory
    {
        public const string BackendName = "FaultyAzure";

        public string Name => BackendName;

        public UploadBackendDefinition Create(string targetName, IServiceProvider services) => new(backend, new StorageBridgeTargetOptions());
    }
}
