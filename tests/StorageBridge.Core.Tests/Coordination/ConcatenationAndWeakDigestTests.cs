using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Coordination;
using StorageBridge.FileSystem;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// Protocol-neutral additions used by the tus front-end: sha-1 / md5 append digests (all or nothing like sha-256) and
/// concatenation of completed uploads through the optional <c>IUploadBackend.Concatenation</c> capability.
/// </summary>
public sealed class ConcatenationAndWeakDigestTests : IDisposable
{
    private readonly EngineHarness harness = new(options: new UploadTargetOptions { Backend = "FileSystem", PartSize = 4 * KiB });
    private readonly string root = Path.Combine(Path.GetTempPath(), "sb-concat-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        harness.Dispose();
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData(DigestValue.Sha1)]
    [InlineData(DigestValue.Md5)]
    public async Task Sha1_and_md5_digests_append_when_they_match_and_append_nothing_when_they_do_not(string algorithm)
    {
        var h = harness;
        var source = Bytes(12_000, seed: 71);
        var upload = await h.CreateAsync(length: source.Length);
        var wrong = new DigestValue(algorithm, Hash(algorithm, source.AsSpan(0, 5)));

        var rejected = await h.AppendAsync(upload.Id, 0, source, digest: wrong);
        Assert.Equal(UploadOutcome.DigestMismatch, rejected.Outcome);
        Assert.Equal(0, (await h.LoadExistingAsync(upload.Id)).Offset);

        var accepted = await h.AppendAsync(upload.Id, 0, source, digest: new DigestValue(algorithm, Hash(algorithm, source)));
        Assert.Equal(UploadOutcome.Success, accepted.Outcome);
        Assert.Equal(UploadState.Completed, accepted.Upload!.State);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public void Digest_sizes_and_support_are_declared()
    {
        Assert.Equal(20, DigestValue.SizeOf(DigestValue.Sha1));
        Assert.Equal(16, DigestValue.SizeOf(DigestValue.Md5));
        Assert.Equal(32, DigestValue.SizeOf(DigestValue.Sha256));
        Assert.Equal(0, DigestValue.SizeOf("crc32"));
        Assert.False(DigestValue.IsSupportedForAppend("crc32"));
    }

    [Fact]
    public async Task Completed_uploads_are_joined_in_order_into_a_new_completed_upload()
    {
        var coordinator = FileCoordinator();
        var a = Bytes(5000, seed: 72);
        var b = Bytes(70_000, seed: 73);
        var idA = await UploadAsync(coordinator, a);
        var idB = await UploadAsync(coordinator, b);

        var joined = await coordinator.ConcatenateAsync(
            new ConcatenateRequest { Target = TargetName, SourceIds = [idB, idA], FileName = "joined.bin", ProtocolState = new Dictionary<string, string> { ["k"] = "v" } },
            CancellationToken.None);

        Assert.Equal(UploadOutcome.Success, joined.Outcome);
        var record = joined.Upload!;
        Assert.Equal(UploadState.Completed, record.State);
        Assert.Equal(75_000, record.Offset);
        Assert.Equal(75_000, record.Length);
        Assert.Equal("v", record.ProtocolState["k"]);
        var download = await coordinator.OpenDownloadAsync(TargetName, record.Id, 0, null, CancellationToken.None);
        using var content = new MemoryStream();
        await using (download.Content!)
        {
            await download.Content!.CopyToAsync(content);
        }

        Assert.Equal(Sha256Hex([.. b, .. a]), Sha256Hex(content.ToArray()));
        Assert.True(File.Exists(Path.Combine(root, idA)), "sources stay in place");
    }

    [Fact]
    public async Task Concatenation_refuses_unknown_and_incomplete_sources_and_unsupporting_backends()
    {
        var coordinator = FileCoordinator();
        var done = await UploadAsync(coordinator, Bytes(100, seed: 74));
        var open = (await coordinator.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = 10 }, CancellationToken.None)).Upload!.Id;

        var unknown = await coordinator.ConcatenateAsync(new ConcatenateRequest { Target = TargetName, SourceIds = [done, UploadIds.New()] }, CancellationToken.None);
        var incomplete = await coordinator.ConcatenateAsync(new ConcatenateRequest { Target = TargetName, SourceIds = [done, open] }, CancellationToken.None);
        await coordinator.CancelAsync(TargetName, open, CancellationToken.None);
        var gone = await coordinator.ConcatenateAsync(new ConcatenateRequest { Target = TargetName, SourceIds = [open] }, CancellationToken.None);
        // The harness wraps the file backend in a decorator without the capability.
        var unsupported = await harness.Coordinator.ConcatenateAsync(new ConcatenateRequest { Target = TargetName, SourceIds = [done] }, CancellationToken.None);

        Assert.Equal(UploadOutcome.NotFound, unknown.Outcome);
        Assert.Equal(UploadOutcome.IncompleteSource, incomplete.Outcome);
        Assert.Equal(UploadOutcome.Gone, gone.Outcome);
        Assert.Equal(UploadOutcome.NotSupported, unsupported.Outcome);
        Assert.True(coordinator.SupportsConcatenation(TargetName));
        Assert.False(harness.Coordinator.SupportsConcatenation(TargetName));
    }

    private UploadCoordinator FileCoordinator()
    {
        var target = new UploadTarget(TargetName, new FileSystemBackend(new FileSystemBackendOptions { Root = root }), new UploadTargetOptions { Backend = "FileSystem" });
        return new UploadCoordinator(
            new UploadTargetRegistry([target]),
            new InMemoryUploadMetadataStore(),
            new StorageBridgeEngineOptions { InstanceId = "node-a" },
            TimeProvider.System,
            NullLogger<UploadCoordinator>.Instance);
    }

    private static async Task<string> UploadAsync(UploadCoordinator coordinator, byte[] data)
    {
        var created = await coordinator.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = data.Length }, CancellationToken.None);
        var appended = await coordinator.AppendAsync(Request(created.Upload!.Id, 0, data.Length), new TestBody(data, chunk: 4096), CancellationToken.None);
        Assert.Equal(UploadState.Completed, appended.Upload!.State);
        return created.Upload.Id;
    }

    private static byte[] Hash(string algorithm, ReadOnlySpan<byte> data) => algorithm switch
    {
        DigestValue.Sha1 => SHA1.HashData(data),
        _ => MD5.HashData(data),
    };
}
