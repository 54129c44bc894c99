using System.Net;
using System.Security.Cryptography;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Backends;
using StorageBridge.Backends.AzureBlob;
using StorageBridge.Backends.AzureBlob.Tests;
using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using Xunit.Abstractions;
using AzureFaults = StorageBridge.Backends.AzureBlob.Tests.FaultInjectingHandler;

namespace StorageBridge.Metadata.Cosmos.Tests;

/// <summary>
/// The engine on the product's Azure path (Azure Blob backend on Azurite, Cosmos store on cosmosdb-server) with faults
/// in both SDKs' HTTP pipelines: failed Put Block / Put Block List in the Azure transport, 412/429/503 from Cosmos,
/// including a block Azure stored whose record write never landed. Whatever fails, HEAD's offset never goes backwards,
/// never passes what was sent, a retry from it completes, and the committed blob equals the source by sha-256.
/// </summary>
[Collection(CosmosCollection.Name)]
public sealed class AzureCosmosEngineFaultTests(CosmosEmulatorFixture cosmos, AzuriteFixture azurite, ITestOutputHelper output)
    : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private const string Target = "azure";
    private const int KiB = 1024;
    private const int BlockSize = 256 * KiB;

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));
    private readonly AzureFaults _azureFaults = new();
    private CosmosFaults _cosmosFaults = null!;
    private CosmosUploadMetadataStore _store = null!;
    private AzureBlobBackend _backend = null!;
    private UploadCoordinator _coordinator = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        _cosmosFaults = new CosmosFaults();
        var handler = new FaultInjectingHandler(_cosmosFaults.Decide) { RetryAfterMs = 5 };
        _store = new CosmosUploadMetadataStore(cosmos.Options(
            "sb-faults", "c" + Guid.NewGuid().ToString("N"), o => o.HttpClientFactory = () => new HttpClient(handler, disposeHandler: false)));
        await _store.InitializeAsync(Ct);
        _backend = azurite.CreateBackend(new AzureBlobBackendOptions { MinBlockSize = BlockSize }, _azureFaults);
        _coordinator = new UploadCoordinator(
            new UploadTargetRegistry([new UploadTarget(Target, _backend, new UploadTargetOptions { Backend = "AzureBlob", PartSize = BlockSize })]),
            _store,
            new StorageBridgeEngineOptions { InstanceId = "node-a", LeaseDuration = TimeSpan.FromSeconds(30), TombstoneRetention = TimeSpan.FromDays(1) },
            TimeProvider.System,
            NullLogger<UploadCoordinator>.Instance);
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        _azureFaults.Dispose();
        _timeout.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_block_stored_in_Azure_whose_record_write_Cosmos_refuses_is_not_reported_and_is_staged_again()
    {
        var source = RandomNumberGenerator.GetBytes((3 * BlockSize) + 1000);
        var upload = await CreateAsync(source.Length);
        Assert.Equal(UploadOutcome.Success, (await AppendAsync(upload.Id, 0, source.AsMemory(0, BlockSize + 100))).Outcome); // block 1 + tail

        // The lease write passes, block 2 reaches Azure, and every record write after it answers 503 (more often than
        // the store retries).
        _cosmosFaults.FailReplacesAfter(successes: 1, failures: 100);
        var stagedBefore = _azureFaults.StageBlockCalls;
        var failed = await Assert.ThrowsAsync<StorageBridge.Backends.StorageBackendException>(() => AppendAsync(upload.Id, BlockSize + 100, source.AsMemory(BlockSize + 100, BlockSize)));
        Assert.IsType<Microsoft.Azure.Cosmos.CosmosException>(failed.InnerException);
        Assert.True(_azureFaults.StageBlockCalls > stagedBefore, "block 2 was staged in Azure");
        _cosmosFaults.FailReplacesAfter(0, 0);

        var offset = await HeadOffsetAsync(upload.Id);
        Assert.Equal(BlockSize + 100, offset); // what the record holds: block 1 and the tail, not the unrecorded block 2

        var done = await AppendAsync(upload.Id, offset, source.AsMemory((int)offset), complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        await AssertBlobAsync(done.Upload!, source);
    }

    [Fact]
    public async Task Random_faults_in_both_pipelines_never_lose_bytes_or_move_the_offset_backwards()
    {
        var random = new Random(20261201);
        var source = RandomNumberGenerator.GetBytes((24 * BlockSize) + 4321);
        var upload = await CreateAsync(source.Length);
        _cosmosFaults.Random = new Random(7);
        var failures = 0;
        var reported = 0L;
        UploadRecord? completed = null;
        for (var attempt = 0; completed is null; attempt++)
        {
            Assert.True(attempt < 400, "the upload did not complete");
            _cosmosFaults.Enabled = false;
            var offset = await HeadOffsetAsync(upload.Id);
            Assert.True(offset >= reported, $"offset went backwards: {offset} after {reported}");
            reported = offset;
            _cosmosFaults.Enabled = true;

            var length = (int)Math.Min(random.Next(50 * KiB, 3 * BlockSize), source.Length - offset);
            var last = offset + length == source.Length;
            switch (random.Next(6))
            {
                case 0: _azureFaults.FailStageBlocksAfter(successes: random.Next(2), failures: 3); break;
                case 1 when last: _azureFaults.FailCommits = 3; break;
                case 2: _azureFaults.LoseCommitResponses = 1; break;
                default: break;
            }

            AppendResult? result = null;
            try
            {
                result = await AppendAsync(upload.Id, offset, source.AsMemory((int)offset, length), complete: last);
            }
            catch (StorageBridge.Backends.StorageBackendException ex) when (ex.InnerException is Azure.RequestFailedException or Microsoft.Azure.Cosmos.CosmosException)
            {
                failures++;
                output.WriteLine($"append {offset}+{length}: {ex.InnerException.GetType().Name} {ex.StatusCode}");
            }

            _azureFaults.FailStageBlocksAfter(0, 0);
            _azureFaults.FailCommits = 0;
            _azureFaults.LoseCommitResponses = 0;
            _cosmosFaults.Enabled = false;
            if (result is { Outcome: not UploadOutcome.Success })
            {
                failures++;
                output.WriteLine($"append {offset}+{length}: {result.Outcome}");
                Assert.Contains(result.Outcome, new[] { UploadOutcome.Conflict, UploadOutcome.OffsetMismatch });
            }

            var now = await _coordinator.GetAsync(Target, upload.Id, Ct);
            Assert.InRange(now.Upload!.Offset, offset, offset + length);
            if (result is { Outcome: UploadOutcome.Success })
            {
                Assert.Equal(offset + length, now.Upload.Offset);
            }

            if (now.Upload.State == UploadState.Completed)
            {
                completed = now.Upload;
            }
        }

        output.WriteLine($"failed appends {failures}; injected: Cosmos {_cosmosFaults.Summary}; Azure StageBlock calls {_azureFaults.StageBlockCalls}, commits {_azureFaults.CommitCalls}");
        Assert.True(failures > 0 && _cosmosFaults.Injected > 0, "faults were injected and some appends failed");
        await AssertBlobAsync(completed, source);
    }

    private async Task<UploadRecord> CreateAsync(long length)
    {
        var created = await _coordinator.CreateAsync(new CreateUploadRequest { Target = Target, Length = length }, Ct);
        Assert.Equal(UploadOutcome.Success, created.Outcome);
        return created.Upload!;
    }

    private Task<AppendResult> AppendAsync(string id, long offset, ReadOnlyMemory<byte> data, bool complete = false) =>
        _coordinator.AppendAsync(
            new AppendRequest { Target = Target, Id = id, Offset = offset, Complete = complete, ContentLength = data.Length },
            new MemoryStream(data.ToArray(), writable: false),
            Ct);

    private async Task<long> HeadOffsetAsync(string id) => (await _coordinator.GetAsync(Target, id, Ct)).Upload!.Offset;

    private async Task AssertBlobAsync(UploadRecord upload, byte[] source)
    {
        Assert.Equal(UploadState.Completed, upload.State);
        var blob = _backend.Container.GetBlockBlobClient(upload.ObjectKey);
        var blocks = (await blob.GetBlockListAsync(BlockListTypes.All, cancellationToken: Ct)).Value;
        Assert.Empty(blocks.UncommittedBlocks);
        Assert.Equal(source.Length, blocks.CommittedBlocks.Sum(b => b.SizeLong));
        var content = (await blob.DownloadContentAsync(Ct)).Value.Content;
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(source)), Convert.ToHexStringLower(SHA256.HashData(content.ToMemory().Span)));
        Assert.Empty(await _backend.ListStagingAsync(BackendUpload.From(upload), Ct));
    }

    /// <summary>What the Cosmos pipeline answers instead of the server: a burst of 503s on replaces, or random 412/429/503.</summary>
    private sealed class CosmosFaults
    {
        private readonly Lock _gate = new();
        private int _failReplaces;
        private int _passReplaces;
        private int _phantom412;
        private int _throttled;
        private int _unavailable;

        public void FailReplacesAfter(int successes, int failures)
        {
            lock (_gate)
            {
                _passReplaces = successes;
                _failReplaces = failures;
            }
        }

        public volatile bool Enabled;

        public Random? Random { get; set; }

        public int Injected => _phantom412 + _throttled + _unavailable;

        public string Summary => $"412 {_phantom412}, 429 {_throttled}, 503 {_unavailable}";

        public HttpStatusCode? Decide(HttpRequestMessage request)
        {
            lock (_gate)
            {
                if (_passReplaces > 0 && request.Method == HttpMethod.Put)
                {
                    _passReplaces--;
                    return null;
                }

                if (_failReplaces > 0 && request.Method == HttpMethod.Put && (Enabled || Random is null))
                {
                    _failReplaces--;
                    _unavailable++;
                    return HttpStatusCode.ServiceUnavailable;
                }

                if (!Enabled || Random is null)
                {
                    return null;
                }

                // A burst of 503s longer than the store's retries sometimes; single 429s/503s (retried) and phantom 412s on replaces.
                switch (Random.Next(20))
                {
                    case 0 when request.Method == HttpMethod.Put:
                        _failReplaces = 5;
                        _unavailable++;
                        return HttpStatusCode.ServiceUnavailable;
                    case 1 or 2:
                        _throttled++;
                        return HttpStatusCode.TooManyRequests;
                    case 3:
                        _unavailable++;
                        return HttpStatusCode.ServiceUnavailable;
                    case 4 when request.Method == HttpMethod.Put:
                        _phantom412++;
                        return HttpStatusCode.PreconditionFailed;
                    default:
                        return null;
                }
            }
        }
    }
}
