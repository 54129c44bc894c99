using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Tests;

namespace StorageBridge.Backends.AzureBlob.Tests;

/// <summary>
/// A real Kestrel with the Host's wiring (AddStorageBridge + AddStorageBridgeAzureBlob, configuration only) and an
/// <c>azure</c> target on Azurite: IETF uploads in several PATCHes and the real tus-js-client; the committed blob's
/// sha-256 must equal the source.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed partial class AzureProtocolTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const int MiB = 1024 * 1024;
    private const string KeyPrefix = "protocol/";
    private WebApplication? app;
    private HttpClient? client;
    private Uri baseAddress = new("http://127.0.0.1/");
    private readonly string files = Path.Combine(Path.GetTempPath(), "sb-azure-proto-" + Guid.NewGuid().ToString("N"));

    private HttpClient Client => client!;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "InMemory",
            ["StorageBridge:Targets:azure:Backend"] = "AzureBlob",
            ["StorageBridge:Targets:azure:ConnectionString"] = azurite.ConnectionString,
            ["StorageBridge:Targets:azure:Container"] = azurite.ContainerName,
            ["StorageBridge:Targets:azure:Prefix"] = KeyPrefix,
            ["StorageBridge:Targets:azure:MinBlockSize"] = "4MiB",
        };
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddStorageBridge(builder.Configuration).UseInMemoryMetadata();
        builder.Services.AddStorageBridgeAzureBlob();
        app = builder.Build();
        app.MapResumableUploads("/uploads");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        baseAddress = new Uri(address + "/");
        client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Directory.CreateDirectory(files);
    }

    public async Task DisposeAsync()
    {
        client?.Dispose();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        Directory.Delete(files, recursive: true);
    }

    [Fact]
    public async Task IETF_upload_in_several_PATCHes_commits_the_blob_with_the_source_sha256()
    {
        var source = AzureEngine.Bytes(9 * MiB + 12_345, seed: 21);
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/azure") { Content = new ByteArrayContent(source, 0, 3 * MiB / 2) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", source.Length.ToString(CultureInfo.InvariantCulture));
        create.Content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var created = await Client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = created.Headers.Location!;
        Assert.Equal((3 * MiB / 2).ToString(CultureInfo.InvariantCulture), created.Headers.GetValues("Upload-Offset").Single());

        long offset = 3 * MiB / 2;
        foreach (var size in new[] { 3 * MiB, MiB, 2 * MiB + 5, source.Length - (int)offset - 6 * MiB - 5 })
        {
            var last = offset + size == source.Length;
            using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(source, (int)offset, size) };
            patch.Headers.Add("Upload-Draft-Interop-Version", "8");
            patch.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
            patch.Headers.Add("Upload-Complete", last ? "?1" : "?0");
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
            using var patched = await Client.SendAsync(patch);
            Assert.Equal(last ? HttpStatusCode.OK : HttpStatusCode.NoContent, patched.StatusCode);
            offset += size;
            Assert.Equal(offset.ToString(CultureInfo.InvariantCulture), patched.Headers.GetValues("Upload-Offset").Single());
        }

        var key = KeyPrefix + location.ToString().Split('/')[^1];
        Assert.Equal(Sha(source), await BlobSha256Async(key));
        var properties = (await Container().GetBlobClient(key).GetPropertiesAsync()).Value;
        Assert.Equal("image/png", properties.ContentType);
        // 4 MiB minimum blocks: 1.5 MiB + 3 MiB crossed it once; every block but the last is at least 4 MiB.
        var blocks = (await Container().GetBlockBlobClient(key).GetBlockListAsync(BlockListTypes.Committed)).Value.CommittedBlocks.ToList();
        Assert.Equal(source.Length, blocks.Sum(b => b.SizeLong));
        Assert.All(blocks.SkipLast(1), b => Assert.True(b.SizeLong >= 4 * MiB, $"block of {b.SizeLong} bytes"));
        using var download = await Client.GetAsync(new Uri(location + "/content", UriKind.RelativeOrAbsolute));
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(Sha(await download.Content.ReadAsByteArrayAsync()), Sha(source));
    }

    [Theory]
    // 4 MiB chunks (the minimum block): each chunk is its own block, the 5 MiB + 7 last chunk split into 4 MiB + 1 MiB + 7.
    [InlineData(4 * MiB, (13 * MiB) + 7, new long[] { 4 * MiB, 4 * MiB, 4 * MiB, MiB + 7 })]
    // 1 MiB chunks are below the minimum block: staged, replayed in order, cut into 8 MiB blocks.
    [InlineData(MiB, (9 * MiB) + 3, new long[] { 8 * MiB, MiB + 3 })]
    public async Task Resumable_chunks_shuffled_three_at_once_commit_the_blob(int chunkSize, int size, long[] expectedBlocks)
    {
        var source = AzureEngine.Bytes(size, seed: chunkSize);
        var answer = await ResumableChunks.UploadAsync(Client, "uploads/azure", source, chunkSize, new ChunkUploadOptions { ShuffleSeed = 9, Duplicates = 2 });

        var key = KeyPrefix + answer.Id;
        Assert.Equal(Sha(source), await BlobSha256Async(key));
        var blocks = (await Container().GetBlockBlobClient(key).GetBlockListAsync(BlockListTypes.Committed)).Value.CommittedBlocks.ToList();
        Assert.Equal(expectedBlocks, blocks.Select(b => b.SizeLong));
        // Staged chunks and the live marker are gone.
        Assert.Empty(await Container().GetBlobsAsync(BlobTraits.None, BlobStates.None, ".storagebridge-staging/" + answer.Id, CancellationToken.None).ToListAsync());
    }

    [Fact]
    public async Task Completion_over_a_foreign_blob_is_409_and_keeps_both_the_blob_and_the_upload()
    {
        var source = AzureEngine.Bytes(5000, seed: 23);
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/azure") { Content = new ByteArrayContent(source, 0, 2000) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        using var created = await Client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = created.Headers.Location!;
        var key = KeyPrefix + location.ToString().Split('/')[^1];
        var foreign = AzureEngine.Bytes(777, seed: 24);
        await Container().GetBlobClient(key).UploadAsync(new BinaryData(foreign));

        using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(source, 2000, 3000) };
        patch.Headers.Add("Upload-Draft-Interop-Version", "8");
        patch.Headers.Add("Upload-Offset", "2000");
        patch.Headers.Add("Upload-Complete", "?1");
        patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        using var patched = await Client.SendAsync(patch);

        Assert.Equal(HttpStatusCode.Conflict, patched.StatusCode);
        Assert.Equal("application/problem+json", patched.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Sha(foreign), await BlobSha256Async(key));
        using var head = new HttpRequestMessage(HttpMethod.Head, location);
        head.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var state = await Client.SendAsync(head);
        Assert.Equal(HttpStatusCode.NoContent, state.StatusCode);
        Assert.Equal("5000", state.Headers.GetValues("Upload-Offset").Single());
        Assert.Equal("?0", state.Headers.GetValues("Upload-Complete").Single());
    }

    [Theory(Timeout = 180_000)]
    [InlineData(1 * MiB)]
    [InlineData(8 * MiB)]
    public async Task Tus_js_client_upload_commits_the_blob_with_the_source_sha256(int chunkSize)
    {
        const long size = 20 * MiB + 3;
        var path = Path.Combine(files, "source.bin");
        var sha = await DeterministicData.WriteFileAsync(path, 0xA2u + (ulong)chunkSize, size, CancellationToken.None);

        // Buffer input: tus-js-client marks its last chunk Upload-Complete: ?1 (only the client completes an IETF upload).
        var (url, uploaded) = await RunTusJsClientAsync(path, "ietf-draft-05", chunkSize.ToString(CultureInfo.InvariantCulture), "--input", "buffer");
        Assert.Equal(size, uploaded);
        var key = KeyPrefix + url.Split('/')[^1];
        Assert.Equal(sha, await BlobSha256Async(key));
    }

    /// <summary>tests/clients/tus-upload.mjs (the real tus-js-client) uploading <paramref name="path"/> to the azure target; its url and bytesUploaded.</summary>
    private async Task<(string Url, long BytesUploaded)> RunTusJsClientAsync(string path, string protocol, string chunkSize, params string[] options)
    {
        var clientDir = RepositoryLayout.ClientsDirectory;
        Assert.True(File.Exists(Path.Combine(clientDir, "node_modules", "tus-js-client", "package.json")), "run npm ci in tests/clients (./test.sh does)");
        var result = await ChildProcess.RunAsync(
            "node",
            [Path.Combine(clientDir, "tus-upload.mjs"), new Uri(baseAddress, "uploads/azure").ToString(), path, protocol, chunkSize, .. options],
            clientDir,
            TimeSpan.FromMinutes(2),
            CancellationToken.None);
        Assert.True(result.ExitCode == 0, result.ToString());
        var line = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        using var output = JsonDocument.Parse(line);
        return (output.RootElement.GetProperty("url").GetString()!, output.RootElement.GetProperty("bytesUploaded").GetInt64());
    }

    private BlobContainerClient Container() => azurite.CreateContainer();

    private async Task<string> BlobSha256Async(string key)
    {
        await using var stream = await Container().GetBlobClient(key).OpenReadAsync();
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
    }

    private static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
