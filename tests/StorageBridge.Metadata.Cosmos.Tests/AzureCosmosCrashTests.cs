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
        using (var http = CrashUploadClient.CreateHttpClient(host))
        {
            var client = new CrashUploadClient(http, Seed, Size);
            upload = await client.CreateAsync(Target, cts.Token);
            acknowledged = await client.AppendAsync(upload, 0, 3 * MiB, cts.Token);
            acknowledged = await client.AppendAsync(upload, acknowledged, 3 * MiB, cts.Token); // block 1 + 2 MiB tail

            // 8 MiB announced, 3 MiB + 4321 sent (a block's worth with the tail), then the host is killed under it.
            sent = await client.KillDuringAppendAsync(host, upload, acknowledged, 8 * MiB, (3 * MiB) + 4321, cts.Token);
        }

        await host.RestartAsync(cts.Token);
        using (var http = CrashUploadClient.CreateHttpClient(host))
        {
            var client = new CrashUploadClient(http, Seed, Size);
            var offset = await client.ResumeWithinAsync(upload, acknowledged, sent, 4 * MiB, cts.Token);
            output.WriteLine($"offset after restart: {offset} (acknowledged {acknowledged}, sent {acknowledged + sent})");
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
        using (var http = CrashUploadClient.CreateHttpClient(host))
        {
            var client = new CrashUploadClient(http, Seed, Size);
            upload = await client.CreateAsync(Target, cts.Token);
            var offset = 0L;
            for (var i = 0; i < 5; i++)
            {
                offset = await client.AppendAsync(upload, offset, MiB, cts.Token); // 5 MiB: block 1 (4 MiB) + 1 MiB tail
            }

            // The next 3 MiB make block 2 (1 MiB tail + 3 MiB): Azurite stores it, the host never learns, and dies.
            var held = proxy.HoldNext(IsStageBlock);
            var pending = client.AppendAsync(upload, offset, 3 * MiB, cts.Token);
            output.WriteLine("held: " + await held.WaitAsync(TimeSpan.FromSeconds(60), cts.Token));
            host.Kill();
            await Assert.ThrowsAnyAsync<Exception>(() => pending);
        }

        // Block 2 is staged (uncommitted) in Azurite but not in the record.
        var staged = await BlockBlob(upload).GetBlockListAsync(BlockListTypes.Uncommitted, cancellationToken: cts.Token);
        Assert.Equal(2, staged.Value.UncommittedBlocks.Count());

        await host.RestartAsync(cts.Token);
        using (var http = CrashUploadClient.CreateHttpClient(host))
        {
            var client = new CrashUploadClient(http, Seed, Size);
            var offset = await client.HeadOffsetAsync(upload, cts.Token);
            output.WriteLine($"offset after restart: {offset}");
            Assert.Equal(5 * MiB, offset); // block 2 was never recorded: the durable offset is where it was
            await client.FinishAsync(upload, offset, 3 * MiB, cts.Token);
        }

        // Block 2 was staged again under the same id: exactly the source, nothing duplicated.
        await AssertBlobIsTheSourceAsync(upload, cts.Token);
    }

    [Fact(Timeout = 180_000)]
    public async Task Kill_between_CommitBlockList_and_the_metadata_write_then_a_retried_completion_finishes_the_record()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var proxy = await HoldingProxy.StartAsync(AzuriteRoot());
        var commits = 0;
        proxy.Observe = request =>
        {
            if (IsCommitBlockList(request))
            {
                Interlocked.Increment(ref commits);
            }
        };
        await using var host = await StartHostAsync(proxy, cts.Token);

        Uri upload;
        using (var http = CrashUploadClient.CreateHttpClient(host))
        {
            var client = new CrashUploadClient(http, Seed, Size);
            upload = await client.CreateAsync(Target, cts.Token);
            var offset = await client.AppendAsync(upload, 0, 16 * MiB, cts.Token);

            // The last PATCH: Azurite commits the blob, the host never learns, and dies before the record says so.
            var held = proxy.HoldNext(IsCommitBlockList);
            var pending = client.AppendAsync(upload, offset, Size - offset, cts.Token);
            output.WriteLine("held: " + await held.WaitAsync(TimeSpan.FromSeconds(60), cts.Token));
            host.Kill();
            await Assert.ThrowsAnyAsync<Exception>(() => pending);
        }

        Assert.Equal(Size, (await Blob(upload).GetPropertiesAsync(cancellationToken: cts.Token)).Value.ContentLength);
        Assert.Equal(1, Volatile.Read(ref commits));

        await host.RestartAsync(cts.Token);
        using (var http = CrashUploadClient.CreateHttpClient(host))
        {
            // The client asks with HEAD until the upload is complete. While the dead instance's lease runs, the record
            // stays Completing (offset already final); then the HEAD retries the completion and finishes the record.
            var client = new CrashUploadClient(http, Seed, Size);
            var waited = System.Diagnostics.Stopwatch.StartNew();
            var heads = 0;
            while (true)
            {
                var (offset, complete) = await client.HeadAsync(upload, cts.Token);
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
            Assert.Equal((Size, true), await client.HeadAsync(upload, cts.Token));

            var content = await http.GetByteArrayAsync(new Uri(upload + "/content"), cts.Token);
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

    private static bool IsStageBlock(HttpRequest request) => request.Method == "PUT" && request.Query["comp"] == "block";

    private static bool IsCommitBlockList(HttpRequest request) => request.Method == "PUT" && request.Query["comp"] == "blocklist";
}
