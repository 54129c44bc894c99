using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StorageBridge.Backends;
using StorageBridge.Coordination;
using StorageBridge.FileSystem;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// One or more coordinators ("instances") over the real FileSystemBackend on a private temp root, sharing one
/// InMemory metadata store and one FakeTimeProvider. Each instance gets its own backend object on the same root,
/// wrapped by <see cref="FaultInjectingBackend"/> (pass-through unless capabilities or faults are set).
/// </summary>
internal sealed class EngineHarness : IDisposable
{
    public const string TargetName = "files";
    public const int KiB = 1024;
    public static readonly DateTimeOffset Epoch = new(2025, 6, 1, 8, 0, 0, TimeSpan.Zero);

    /// <summary>Upper bound for anything a test waits on; a hang fails the test instead of the run.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly string sandbox;
    private readonly BackendCapabilities? capabilities;

    public EngineHarness(
        BackendCapabilities? capabilities = null, UploadTargetOptions? options = null, StorageBridgeEngineOptions? engine = null, bool localStaging = false)
    {
        sandbox = Path.Combine(Path.GetTempPath(), "sb-engine-" + Guid.NewGuid().ToString("N"));
        Root = Path.Combine(sandbox, "root");
        Directory.CreateDirectory(Root);
        StagingDirectory = localStaging ? Path.Combine(sandbox, "staging") : null;
        this.capabilities = capabilities;
        TargetOptions = options ?? new UploadTargetOptions { Backend = "FileSystem" };
        EngineOptions = engine ?? DefaultEngine;
        (Coordinator, Backend) = NewInstance(EngineOptions.InstanceId);
    }

    /// <summary>Engine options of a harness that names none (tail cache at its default).</summary>
    public static StorageBridgeEngineOptions DefaultEngine { get; } = new()
    {
        InstanceId = "node-a",
        LeaseDuration = TimeSpan.FromSeconds(10),
        TakeoverWait = TimeSpan.FromSeconds(10),
        TombstoneRetention = TimeSpan.FromDays(1),
    };

    public string Root { get; }

    /// <summary>The target's StagingDirectory (tails on local disk), or null for the backend's own staging objects.</summary>
    public string? StagingDirectory { get; }
    public FakeTimeProvider Time { get; } = new(Epoch);
    public InMemoryUploadMetadataStore Store { get; } = new();
    public UploadTargetOptions TargetOptions { get; }
    public StorageBridgeEngineOptions EngineOptions { get; }
    public UploadCoordinator Coordinator { get; }
    public FaultInjectingBackend Backend { get; }
    public UploadTarget Target => Coordinator.Targets.Find(TargetName)!;

    /// <summary>Another instance: same store, same root, same clock, its own InstanceId and backend object.</summary>
    public (UploadCoordinator Coordinator, FaultInjectingBackend Backend) NewInstance(string instanceId)
    {
        var files = new FileSystemBackend(new FileSystemBackendOptions { Root = Root });
        var backend = capabilities is null ? FaultInjectingBackend.InPlace(files) : FaultInjectingBackend.Multipart(files, capabilities);
        var target = new UploadTarget(TargetName, backend, TargetOptions, StagingDirectory is { } staging ? new LocalTailStore(staging) : null);
        var coordinator = new UploadCoordinator(
            new UploadTargetRegistry([target]),
            Store,
            EngineOptions with { InstanceId = instanceId },
            Time,
            NullLogger<UploadCoordinator>.Instance);
        return (coordinator, backend);
    }

    public async Task<UploadRecord> CreateAsync(long? length = null, string? fileName = null, UploadCoordinator? via = null)
    {
        var created = await (via ?? Coordinator).CreateAsync(
            new CreateUploadRequest { Target = TargetName, Length = length, FileName = fileName },
            CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, created.Outcome);
        return created.Upload!;
    }

    public static AppendRequest Request(
        string id, long offset, long? contentLength, bool complete = false, long? declaredLength = null, DigestValue? digest = null, bool isCreation = false) =>
        new()
        {
            Target = TargetName,
            Id = id,
            Offset = offset,
            Complete = complete,
            DeclaredLength = declaredLength,
            ContentLength = contentLength,
            ContentDigest = digest,
            IsCreation = isCreation,
        };

    /// <summary>Appends <paramref name="data"/> as a whole body (Content-Length sent unless told otherwise).</summary>
    public Task<AppendResult> AppendAsync(
        string id,
        long offset,
        byte[] data,
        bool complete = false,
        long? declaredLength = null,
        bool sendContentLength = true,
        DigestValue? digest = null,
        bool isCreation = false,
        UploadCoordinator? via = null) =>
        (via ?? Coordinator).AppendAsync(
            Request(id, offset, sendContentLength ? data.Length : null, complete, declaredLength, digest, isCreation),
            new TestBody(data, chunk: 7 * KiB + 3),
            CancellationToken.None);

    public Task<UploadRecord?> LoadAsync(string id) => Store.GetAsync(id, CancellationToken.None);

    public async Task<UploadRecord> LoadExistingAsync(string id) => await LoadAsync(id) ?? throw new InvalidOperationException($"No record {id}.");

    public async Task<byte[]> ReadObjectAsync(string id, UploadCoordinator? via = null)
    {
        var download = await (via ?? Coordinator).OpenDownloadAsync(TargetName, id, 0, null, CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, download.Outcome);
        await using var content = download.Content!;
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>Whether any staging file of the upload (data or tail) is left.</summary>
    public bool HasStagedData(string id) =>
        File.Exists(StagingData(id))
        || (Directory.Exists(Path.Combine(Root, FileSystemBackend.StagingFolderName))
            && Directory.EnumerateFiles(Path.Combine(Root, FileSystemBackend.StagingFolderName), id + ".tail-*").Any());

    public string StagingData(string id) => Path.Combine(Root, FileSystemBackend.StagingFolderName, id);

    public string TailFile(string id, int sequence) => StagingData(id) + ".tail-" + sequence;

    public string ObjectFile(string key) => Path.Combine(Root, key);

    /// <summary>Deterministic pseudo-random content.</summary>
    public static byte[] Bytes(int count, int seed = 1)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static DigestValue Sha256Digest(ReadOnlySpan<byte> data) => new(DigestValue.Sha256, SHA256.HashData(data));

    public static DigestValue Sha512Digest(ReadOnlySpan<byte> data) => new(DigestValue.Sha512, SHA512.HashData(data));

    /// <summary>Polls (real time, bounded) until <paramref name="condition"/> holds.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(5);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(sandbox, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
