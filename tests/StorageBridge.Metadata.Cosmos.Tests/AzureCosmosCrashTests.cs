using System.Security.Cryptography;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.AspNetCore.Http;
using StorageBridge.Backends.AzureBlob.Tests;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.Cosmos.Tests;

/// <summary>
/// The product's Azure path as OS processes: the built Host with an Azure Blob target on Azurite and its records in
/// Cosmos DB (cosmosdb-server), killed with SIGKILL and restarted. The host reaches Azurite through a
/// <see cref="HoldingProxy"/> that can hold Azurite's answer to a Put Block or Put Block List, so the kill lands exactly
/// between "stored in Azure" and "recorded in Cosmos". After the restart the upload resumes from HEAD and the committed
/// blob equals the source by sha-256.
/// </summary>
[Collection(CosmosCollection.Name)]
public sealed class AzureCosmosCrashTests(CosmosEmulatorFixture cosmos, AzuriteFixture azurite, ITestOutputHelper output)
    : IClassFixture<AzuriteFixture>
{
    private const int MiB = 1024 * 1024;
    private const long Size = (19 * MiB) + 321;
    private const ulong Seed = 0xA2C05UL;
    private const string Target = "crash";

    private readonly string _container = "sbcrash" + Guid.NewGuid().ToString("N")[..12];

    [Fact(Timeout = 180_000)]
    public async Task Kill_during_a_PATCH_body_then_restart_resumes_from_a_consistent_offset()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var proxy = await HoldingProxy.StartAsync(AzuriteRoot());
        await using var host = await StartHostAsync(proxy, cts.Token);

        Uri upload;
        long acknowledged;
        long sent;
        using (var client = Client(host))
        {
            upload = await IetfUploadRequests.CreateAsync(client, "uploads/" + Target, Size, cts.Token);
            acknowledged = await AppendAsync(client, upload, 0, 3 * MiB, cts.Token);
            acknowledged = await AppendAsync(client, upload, acknowledged, 3 * MiB, cts.Token); // block 1 + 2 MiB tail

            // 8 MiB announced, 3 MiB + 4321 sent (a block's worth with the tail), then the host is killed under it.
            sent = await IetfUploadRequests.KillHostDuringPatchAsync(client, host, upload, Seed, acknowledged, 8 * MiB, (3 * MiB) + 4321, cts.Token);
        }

        await host.RestartAsync(cts.Token);
        using (var client = Client(host))
        {
            var offset = await IetfUploadRequests.HeadOffsetAsync(client, upload, cts.Token);
            output.WriteLine($"offset after restart: {offset} (acknowledged {acknowledged}, sent {acknowledged + sent})");
            Assert.InRange(offset, acknowledged, acknowledged + sent);
            await FinishAsync(client, upload, offset, 4 * MiB, cts.Token);
        }

        await AssertBlobIsTheSourceAsync(upload, cts.Token);
    }

    [Fact(Timeout = 180_000)]
    public async Task Kill_between_StageBlock_and_its_metadata_write_then_restart_resumes_without_loss_or_duplication()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var proxy = await HoldingProxy.StartAsync(AzuriteRoot());
        await using var host = await StartHostAsync(proxy, cts.Token);

        Uri upload;
        using (var client = Client(host))
        {
            upload = await IetfUploadRequests.CreateAsync(client, "uploads/" + Target, Size, cts.Token);
            var offset = 0L;
            for (var i = 0; i < 5; i++)
            {
                offset = await AppendAsync(client, upload, offset, MiB, cts.Token); // 5 MiB: block 1 (4 MiB) + 1 MiB tail
            }

            // The next 3 MiB make block 2 (1 MiB tail + 3 MiB): Azurite stores it, the host never learns, and dies.
            proxy.HoldNext(StageBlock);
            var pending = AppendAsync(client, upload, offset, 3 * MiB, cts.Token);
            output.WriteLine("held: " + await proxy.StoredAndHeld.Task.WaitAsync(TimeSpan.FromSeconds(60), cts.Token));
            host.Kill();
            await Assert.ThrowsAnyAsync<Exception>(() => pending);
        }

        // Block 2 is staged (uncommitted) in Azurite but not in the record.
        var staged = await BlockBlob(upload).GetBlockListAsync(BlockListTypes.Uncommitted, cancellationToken: cts.Token);
        Assert.Equal(2, staged.Value.UncommittedBlocks.Count());

        await host.RestartAsync(cts.Token);
        using (var client = Client(host))
        {
            var offset = await IetfUploadRequests.HeadOffsetAsync(client, upload, cts.Token);
            output.WriteLine($"offset after restart: {offset}");
            Assert.Equal(5 * MiB, offset); // block 2 was never recorded: the durable offset is where it was
            await FinishAsync(client, upload, offset, 3 * MiB, cts.Token);
        }

        // Block 2 was staged again under the same id: exactly the source, nothing duplicated.
        await AssertBlobIsTheSourceAsync(upload, cts.Token);
    }

    [Fact(Timeout = 180_000)]
    public async Task Kill_between_CommitBlockList_and_the_metadata_write_then_a_retried_completion_finishes_the_record()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var commits = 0;
        await using var proxy = await HoldingProxy.StartAsync(AzuriteRoot(), request =>
        {
            if (CommitBlockList(request) is not null)
            {
                Interlocked.Increment(ref commits);
            }
        });
        await using var host = await StartHostAsync(proxy, cts.Token);

        Uri upload;
        using (var client = Client(host))
        {
            upload = await IetfUploadRequests.CreateAsync(client, "uploads/" + Target, Size, cts.Token);
            var offset = await AppendAsync(client, upload, 0, 16 * MiB, cts.Token);

            // The last PATCH: Azurite commits the blob, the host never learns, and dies before the record says so.
            proxy.HoldNext(CommitBlockList);
            var pending = AppendAsync(client, upload, offset, Size - offset, cts.Token);
            output.WriteLine("held: " + await proxy.StoredAndHeld.Task.WaitAsync(TimeSpan.FromSeconds(60), cts.Token));
            host.Kill();
            await Assert.ThrowsAnyAsync<Exception>(() => pending);
        }

        Assert.Equal(Size, (await Blob(upload).GetPropertiesAsync(cancellationToken: cts.Token)).Value.ContentLength);
        Assert.Equal(1, Volatile.Read(ref commits));

        await host.RestartAsync(cts.Token);
        using (var client = Client(host))
        {
            // The client asks with HEAD until the upload is complete. While the dead instance's lease runs, the record
            // stays Completing (offset already final); then the HEAD retries the completion and finishes the record.
            var waited = System.Diagnostics.Stopwatch.StartNew();
            var heads = 0;
            while (true)
            {
                var (offset, complete) = await HeadAsync(client, upload, cts.Token);
                heads++;
                Assert.Equal(Size, offset);
                if (complete)
                {
                    break;
                }

                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), "the completion was not finished after the lease lapsed");
                await Task.Delay(250, cts.Token);
            }

            output.WriteLine($"complete after {heads} HEADs, {waited.Elapsed.TotalSeconds:0.0} s");
            Assert.Equal((Size, true), await HeadAsync(client, upload, cts.Token));

            var content = await client.GetByteArrayAsync(new Uri(upload + "/content"), cts.Token);
            Assert.Equal(DeterministicData.Sha256(Seed, Size), Convert.ToHexStringLower(SHA256.HashData(content)));
        }

        // The retried commit met its own blob (If-None-Match: * answered 409) and took it as done: one blob, ours.
        Assert.Equal(2, Volatile.Read(ref commits));
        await AssertBlobIsTheSourceAsync(upload, cts.Token);
    }

    private async Task<HostProcess> StartHostAsync(HoldingProxy proxy, CancellationToken cancellationToken)
    {
        // The SDK signs the account path, not the host, so the connection string may name the proxy instead.
        var connectionString = string.Join(';', azurite.ConnectionString.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(part => part.StartsWith("BlobEndpoint=", StringComparison.Ordinal)
                ? "BlobEndpoint=" + new Uri(proxy.Address, new Uri(BlobEndpoint()).AbsolutePath)
                : part));
        var environment = new Dictionary<string, string?>
        {
            ["StorageBridge__Metadata__Provider"] = "Cosmos",
            ["StorageBridge__Metadata__Endpoint"] = cosmos.Endpoint.AbsoluteUri,
            ["StorageBridge__Metadata__Key"] = cosmos.Key,
            ["StorageBridge__Metadata__ConnectionMode"] = "Gateway",
            ["StorageBridge__Metadata__AcceptAnyServerCertificate"] = cosmos.AcceptAnyServerCertificate ? "true" : "false",
            ["StorageBridge__Metadata__Database"] = "sb-crash",
            ["StorageBridge__Metadata__Container"] = "c" + Guid.NewGuid().ToString("N"),
            [$"StorageBridge__Targets__{Target}__Backend"] = "AzureBlob",
            [$"StorageBridge__Targets__{Target}__ConnectionString"] = connectionString,
            [$"StorageBridge__Targets__{Target}__Container"] = _container,
            [$"StorageBridge__Targets__{Target}__MinBlockSize"] = "4MiB",
            [$"StorageBridge__Targets__{Target}__PartSize"] = "4MiB",
            ["StorageBridge__TakeoverWait"] = "1s",
            ["StorageBridge__LeaseDuration"] = "4s", // the killed instance's lease lapses quickly after restart
        };
        return await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, OutputSink = output.WriteLine }, cancellationToken);
    }

    private async Task AssertBlobIsTheSourceAsync(Uri upload, CancellationToken cancellationToken)
    {
        var blocks = (await BlockBlob(upload).GetBlockListAsync(BlockListTypes.All, cancellationToken: cancellationToken)).Value;
        Assert.Empty(blocks.UncommittedBlocks);
        Assert.Equal(Size, blocks.CommittedBlocks.Sum(b => b.SizeLong));
        var download = await Blob(upload).DownloadStreamingAsync(cancellationToken: cancellationToken);
        await using var stream = download.Value.Content;
        Assert.Equal(DeterministicData.Sha256(Seed, Size), Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken)));
    }

    private Azure.Storage.Blobs.BlobClient Blob(Uri upload) => azurite.CreateContainer(containerName: _container).GetBlobClient(upload.Segments[^1]);

    private BlockBlobClient BlockBlob(Uri upload) => azurite.CreateContainer(containerName: _container).GetBlockBlobClient(upload.Segments[^1]);

    private string BlobEndpoint() =>
        azurite.ConnectionString.Split(';').Single(p => p.StartsWith("BlobEndpoint=", StringComparison.Ordinal))["BlobEndpoint=".Length..];

    private Uri AzuriteRoot() => new(new Uri(BlobEndpoint()).GetLeftPart(UriPartial.Authority) + "/");

    private static HttpClient Client(HostProcess host) =>
        new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

    private static Task<long> AppendAsync(HttpClient client, Uri upload, long offset, long length, CancellationToken cancellationToken) =>
        IetfUploadRequests.AppendAsync(client, upload, Seed, offset, length, Size, cancellationToken);

    private static async Task FinishAsync(HttpClient client, Uri upload, long offset, long chunk, CancellationToken cancellationToken)
    {
        while (offset < Size)
        {
            offset = await AppendAsync(client, upload, offset, chunk, cancellationToken);
        }
    }

    /// <summary>HEAD of an upload that may be complete: its offset and <c>Upload-Complete</c>.</summary>
    private static async Task<(long Offset, bool Complete)> HeadAsync(HttpClient client, Uri upload, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, upload);
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
        return (long.Parse(response.Headers.GetValues("Upload-Offset").Single(), System.Globalization.CultureInfo.InvariantCulture),
            response.Headers.GetValues("Upload-Complete").Single() == "?1");
    }

    private static string? StageBlock(HttpRequest request) => request.Method == "PUT" && request.Query["comp"] == "block" ? "Put Block " + request.Query["blockid"] : null;

    private static string? CommitBlockList(HttpRequest request) => request.Method == "PUT" && request.Query["comp"] == "blocklist" ? "Put Block List " + request.Path : null;
}
