using System.Security.Claims;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Coordination;
using StorageBridge.FileSystem;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>The engine's creation limits (Limits:*): open uploads across coordinators on one store, metadata, names, sources.</summary>
public sealed class CreationLimitTests : IDisposable
{
    private const string Target = "t";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sb-creationlimits-" + Guid.NewGuid().ToString("N"));
    private readonly InMemoryUploadMetadataStore _store = new();

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private UploadCoordinator Coordinator(string instance, TargetQuotas quotas)
    {
        var target = new UploadTarget(Target, new FileSystemBackend(new FileSystemBackendOptions { Root = _root }), new UploadTargetOptions { Backend = "FileSystem", Quotas = quotas });
        return new UploadCoordinator(
            new UploadTargetRegistry([target]), _store, new StorageBridgeEngineOptions { InstanceId = instance }, TimeProvider.System, NullLogger<UploadCoordinator>.Instance);
    }

    private static Task<CreateResult> CreateAsync(UploadCoordinator coordinator, string? owner, ClaimsPrincipal? principal = null) =>
        coordinator.CreateAsync(new CreateUploadRequest { Target = Target, Owner = owner, Principal = principal, Length = 10 }, CancellationToken.None);

    [Fact]
    public async Task Open_uploads_are_capped_per_owner_across_coordinators_sharing_a_store()
    {
        var quotas = new TargetQuotas { MaxOpenUploads = 2 };
        var a = Coordinator("a", quotas);
        var b = Coordinator("b", quotas);
        var first = await CreateAsync(a, "alice");
        Assert.Equal(UploadOutcome.Success, first.Outcome);
        Assert.Equal(UploadOutcome.Success, (await CreateAsync(b, "alice")).Outcome);

        var refused = await CreateAsync(a, "alice");
        Assert.Equal((UploadOutcome.TooManyOpenUploads, LimitKind.MaxOpenUploads), (refused.Outcome, refused.Limit));
        Assert.Null(refused.Upload);
        Assert.Equal(UploadOutcome.Success, (await CreateAsync(b, "bob")).Outcome);

        Assert.Equal(UploadOutcome.Success, (await b.CancelAsync(Target, first.Upload!.Id, "alice", CancellationToken.None)).Outcome);
        Assert.Equal(UploadOutcome.Success, (await CreateAsync(b, "alice")).Outcome);
        Assert.Equal(UploadOutcome.TooManyOpenUploads, (await CreateAsync(a, "alice")).Outcome);
    }

    [Fact]
    public async Task Anonymous_creations_count_against_the_client_claim()
    {
        var a = Coordinator("a", new TargetQuotas { MaxOpenUploads = 1 });
        static ClaimsPrincipal Client(string address) => new(new ClaimsIdentity([new Claim(TargetQuotas.AnonymousClientClaim, address)]));
        Assert.Equal(UploadOutcome.Success, (await CreateAsync(a, null, Client("10.0.0.1"))).Outcome);
        Assert.Equal(UploadOutcome.TooManyOpenUploads, (await CreateAsync(a, null, Client("10.0.0.1"))).Outcome);
        Assert.Equal(UploadOutcome.Success, (await CreateAsync(a, null, Client("10.0.0.2"))).Outcome);
    }

    [Fact]
    public async Task Metadata_file_names_and_concatenation_sources_are_bounded_before_anything_is_stored()
    {
        var a = Coordinator("a", new TargetQuotas { MaxMetadataSize = 10, MaxFileNameLength = 4, MaxConcatSources = 2 });
        var metadata = await a.CreateAsync(new CreateUploadRequest { Target = Target, Metadata = new Dictionary<string, string> { ["key"] = "12345678" } }, CancellationToken.None);
        Assert.Equal((UploadOutcome.MetadataTooLarge, LimitKind.MaxMetadataSize), (metadata.Outcome, metadata.Limit));
        var name = await a.CreateAsync(new CreateUploadRequest { Target = Target, FileName = "äbcd" }, CancellationToken.None);
        Assert.Equal((UploadOutcome.MetadataTooLarge, LimitKind.MaxFileNameLength), (name.Outcome, name.Limit));
        var sources = await a.ConcatenateAsync(new ConcatenateRequest { Target = Target, SourceIds = [UploadIds.New(), UploadIds.New(), UploadIds.New()] }, CancellationToken.None);
        Assert.Equal((UploadOutcome.TooManySources, LimitKind.MaxConcatSources), (sources.Outcome, sources.Limit));
        Assert.False(Directory.Exists(_root) && Directory.EnumerateFileSystemEntries(_root, "*", SearchOption.AllDirectories).Any(f => File.Exists(f)));
    }
}
