using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Coordination;
using StorageBridge.Core.Tests.Coordination;
using StorageBridge.FileSystem;
using StorageBridge.Hooks;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Core.Tests.Hooks;

/// <summary>
/// Creation hooks in the engine, over the real file backend: a rejection stores nothing (no record, no file), an
/// accepted key lands below the prefix, hooks run in order, and a key that would leave the prefix is refused with 500.
/// </summary>
public sealed class CreationHookTests : IDisposable
{
    private const string Target = "files";
    private const string Prefix = "tenant-a/";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sb-hooks-" + Guid.NewGuid().ToString("N"));
    private readonly InMemoryUploadMetadataStore _store = new();

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task A_rejection_reaches_the_caller_and_stores_nothing()
    {
        var hook = new RecordingHook(_ => UploadCreationDecision.Reject(403, "Not in your quota."));
        var engine = Engine(hook);
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "alice"), new Claim("tenant", "a")], "test"));

        var created = await engine.CreateAsync(
            new CreateUploadRequest
            {
                Target = Target, Protocol = "tus", Owner = "alice", Principal = principal, Length = 1234, ContentType = "image/png", FileName = "cat.png",
                Metadata = new Dictionary<string, string> { ["album"] = "holidays" },
            },
            CancellationToken.None);

        Assert.Equal(UploadOutcome.Rejected, created.Outcome);
        Assert.Null(created.Upload);
        Assert.Equal(new UploadCreationRejection(403, "Not in your quota."), created.Rejection);
        await AssertNothingStoredAsync();
        var seen = Assert.Single(hook.Seen);
        Assert.Equal((Target, "tus", "alice", 1234L, "image/png", "cat.png"), (seen.Target, seen.Protocol, seen.Owner, seen.Length!.Value, seen.ContentType, seen.FileName));
        Assert.Same(principal, seen.Principal);
        Assert.Equal("holidays", seen.Metadata["album"]);
        Assert.Null(seen.ObjectKey);
    }

    [Fact]
    public async Task An_accepted_key_and_metadata_are_used_below_the_prefix_and_hooks_run_in_order()
    {
        var first = new RecordingHook(_ => UploadCreationDecision.Accept("2026/report.pdf", new Dictionary<string, string> { ["checked"] = "yes", ["album"] = "work" }));
        var second = new RecordingHook(_ => UploadCreationDecision.Accept(null, new Dictionary<string, string> { ["second"] = "1" }));
        var engine = Engine(first, second);
        var data = EngineHarness.Bytes(5000, seed: 3);

        var created = await engine.CreateAsync(
            new CreateUploadRequest { Target = Target, Length = data.Length, Metadata = new Dictionary<string, string> { ["album"] = "holidays", ["kept"] = "k" } },
            CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, created.Outcome);
        var appended = await engine.AppendAsync(EngineHarness.Request(created.Upload!.Id, 0, data.Length), new TestBody(data, chunk: 1000), CancellationToken.None);

        Assert.Equal(UploadState.Completed, appended.Upload!.State);
        Assert.Equal("tenant-a/2026/report.pdf", appended.Upload.ObjectKey);
        Assert.Equal(
            new Dictionary<string, string> { ["album"] = "work", ["kept"] = "k", ["checked"] = "yes", ["second"] = "1" },
            appended.Upload.Metadata.ToDictionary());
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(_root, "tenant-a", "2026", "report.pdf"))));
        // The second hook saw what the first decided.
        var seen = Assert.Single(second.Seen);
        Assert.Equal("2026/report.pdf", seen.ObjectKey);
        Assert.Equal("work", seen.Metadata["album"]);
        Assert.Equal("yes", seen.Metadata["checked"]);
    }

    [Fact]
    public async Task The_first_rejection_ends_the_creation_and_later_hooks_are_not_asked()
    {
        var first = new RecordingHook(_ => UploadCreationDecision.Reject(422, "No PDFs."));
        var second = new RecordingHook(_ => UploadCreationDecision.Accept());

        var created = await Engine(first, second).CreateAsync(new CreateUploadRequest { Target = Target, Length = 10 }, CancellationToken.None);

        Assert.Equal(422, created.Rejection!.Status);
        Assert.Empty(second.Seen);
    }

    public static TheoryData<string> InvalidKeys() =>
    [
        "../escape",
        "a/../../escape",
        "a/./b",
        "/absolute",
        "a\\..\\b",
        "line\nbreak",
        "nul\0byte",
        "del\u007fchar",
        ".storagebridge-staging/abc/tail-1",
        "x/.staging/abc",
        ".staging",
        "",
        new string('k', 1024 - Prefix.Length + 1),
        new string('\u00e9', 510),
    ];

    [Theory]
    [MemberData(nameof(InvalidKeys))]
    public async Task A_key_that_could_leave_the_prefix_is_the_hooks_bug_and_refused_with_500(string key)
    {
        var created = await Engine(new RecordingHook(_ => UploadCreationDecision.Accept(key))).CreateAsync(
            new CreateUploadRequest { Target = Target, Length = 10 }, CancellationToken.None);

        Assert.Equal(UploadOutcome.Rejected, created.Outcome);
        Assert.Equal(500, created.Rejection!.Status);
        await AssertNothingStoredAsync();
    }

    [Fact]
    public async Task A_key_with_a_lone_surrogate_is_refused_with_500()
    {
        // Not theory data: xunit's serialization would replace the lone surrogate before the test sees it.
        var created = await Engine(new RecordingHook(_ => UploadCreationDecision.Accept("lone\ud800surrogate"))).CreateAsync(
            new CreateUploadRequest { Target = Target, Length = 10 }, CancellationToken.None);

        Assert.Equal(500, created.Rejection!.Status);
    }

    [Theory]
    [InlineData("a/b/c.txt")]
    [InlineData("\u00e9t\u00e9/\U0001F600.txt")]
    [InlineData("..dots-inside..name")]
    public async Task Unusual_but_safe_keys_are_accepted(string key)
    {
        var created = await Engine(new RecordingHook(_ => UploadCreationDecision.Accept(key))).CreateAsync(
            new CreateUploadRequest { Target = Target, Length = 10 }, CancellationToken.None);

        Assert.Equal(UploadOutcome.Success, created.Outcome);
        Assert.Equal(Prefix + key, created.Upload!.ObjectKey);
    }

    [Fact]
    public async Task A_key_of_exactly_1024_bytes_with_the_prefix_is_accepted()
    {
        var key = new string('k', 1024 - Prefix.Length);
        var created = await Engine(new RecordingHook(_ => UploadCreationDecision.Accept(key))).CreateAsync(
            new CreateUploadRequest { Target = Target, Length = 10 }, CancellationToken.None);

        Assert.Equal(UploadOutcome.Success, created.Outcome);
    }

    [Fact]
    public async Task A_concatenation_is_asked_too_with_its_sources_and_a_rejection_joins_nothing()
    {
        var reject = false;
        var hook = new RecordingHook(c => reject ? UploadCreationDecision.Reject(403, "No joining.") : UploadCreationDecision.Accept());
        var engine = Engine(hook);
        var a = await UploadAsync(engine, EngineHarness.Bytes(3000, seed: 1));
        var b = await UploadAsync(engine, EngineHarness.Bytes(2000, seed: 2));
        var filesBefore = Directory.GetFiles(_root, "*", SearchOption.AllDirectories).Length;
        reject = true;

        var joined = await engine.ConcatenateAsync(new ConcatenateRequest { Target = Target, SourceIds = [a, b], Protocol = "tus", Owner = "bob" }, CancellationToken.None);

        Assert.Equal(UploadOutcome.Rejected, joined.Outcome);
        Assert.Equal(403, joined.Rejection!.Status);
        var seen = hook.Seen.Last();
        Assert.Equal([a, b], seen.ConcatenationSources);
        Assert.Equal(5000, seen.Length);
        Assert.Equal("bob", seen.Owner);
        Assert.Equal(filesBefore, Directory.GetFiles(_root, "*", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public void Decisions_refuse_statuses_a_hook_may_not_answer()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => UploadCreationDecision.Reject(302, "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => UploadCreationDecision.Reject(500, "x"));
        Assert.Equal(UploadCreationDecision.MaxMessageLength, UploadCreationDecision.Reject(400, new string('m', 5000)).Rejection!.Message.Length);
        Assert.Equal(new UploadCreationRejection(503, "down", TimeSpan.FromSeconds(5)), UploadCreationDecision.Unavailable("down", TimeSpan.FromSeconds(5)).Rejection);
    }

    private UploadCoordinator Engine(params IUploadCreationHook[] hooks)
    {
        var target = new UploadTarget(Target, new FileSystemBackend(new FileSystemBackendOptions { Root = _root }), new UploadTargetOptions { Backend = "FileSystem", Prefix = Prefix });
        return new UploadCoordinator(
            new UploadTargetRegistry([target]),
            _store,
            new StorageBridgeEngineOptions { InstanceId = "node-a" },
            TimeProvider.System,
            NullLogger<UploadCoordinator>.Instance,
            creationHooks: hooks);
    }

    private static async Task<string> UploadAsync(UploadCoordinator engine, byte[] data)
    {
        var created = await engine.CreateAsync(new CreateUploadRequest { Target = Target, Length = data.Length }, CancellationToken.None);
        var appended = await engine.AppendAsync(EngineHarness.Request(created.Upload!.Id, 0, data.Length), new TestBody(data, chunk: 4096), CancellationToken.None);
        Assert.Equal(UploadState.Completed, appended.Upload!.State);
        return created.Upload.Id;
    }

    private async Task AssertNothingStoredAsync()
    {
        var records = new List<UploadRecord>();
        await foreach (var record in _store.ListExpiredAsync(DateTimeOffset.MaxValue, 100, CancellationToken.None))
        {
            records.Add(record);
        }

        Assert.Empty(records);
        Assert.True(!Directory.Exists(_root) || Directory.GetFiles(_root, "*", SearchOption.AllDirectories).Length == 0);
    }

    private sealed class RecordingHook(Func<UploadCreationContext, UploadCreationDecision> decide) : IUploadCreationHook
    {
        public List<UploadCreationContext> Seen { get; } = [];

        public ValueTask<UploadCreationDecision> OnCreatingAsync(UploadCreationContext creation, CancellationToken cancellationToken)
        {
            Seen.Add(creation);
            return ValueTask.FromResult(decide(creation));
        }
    }
}
