using System.Security.Claims;
using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// An upload belongs to the principal that created it: every other caller is answered NotFound on every operation, and
/// that before a running append is ended, so only the owner's requests take over. Completion asks again
/// (AppendRequest.AuthorizeCompletion): refused, the bytes stay but the upload does not complete.
/// </summary>
public sealed class OwnershipTests : IDisposable
{
    private const string Alice = "jwt:https://issuer.test|alice";
    private const string Bob = "jwt:https://issuer.test|bob";

    private readonly EngineHarness h = new(options: new UploadTargetOptions { Backend = "FileSystem", PartSize = 4 * KiB });

    public void Dispose() => h.Dispose();

    [Fact]
    public async Task Another_owner_finds_nothing_and_does_not_interrupt_the_owners_append()
    {
        var source = Bytes(20_000, seed: 41);
        var upload = await CreateAsync(Alice, source.Length);
        var body = new TestBody(source, pauseAt: 9_999);
        var append = h.Coordinator.AppendAsync(Request(upload.Id, 0, source.Length, complete: true) with { Owner = Alice }, body, CancellationToken.None);
        await body.Paused.WaitAsync(Bound);

        foreach (var stranger in new[] { Bob, null })
        {
            Assert.Equal(UploadOutcome.NotFound, (await h.Coordinator.GetAsync(TargetName, upload.Id, stranger, CancellationToken.None).WaitAsync(Bound)).Outcome);
            Assert.Equal(UploadOutcome.NotFound, (await h.Coordinator.CancelAsync(TargetName, upload.Id, stranger, CancellationToken.None).WaitAsync(Bound)).Outcome);
            Assert.Equal(UploadOutcome.NotFound, (await h.Coordinator.OpenDownloadAsync(TargetName, upload.Id, 0, null, stranger, CancellationToken.None)).Outcome);
            var write = await h.Coordinator.AppendAsync(Request(upload.Id, 0, 3) with { Owner = stranger }, new TestBody([1, 2, 3]), CancellationToken.None).WaitAsync(Bound);
            Assert.Equal(UploadOutcome.NotFound, write.Outcome);
        }

        Assert.False(append.IsCompleted);
        body.Resume();
        var done = await append.WaitAsync(Bound);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(UploadState.Completed, done.Upload!.State);
        var download = await h.Coordinator.OpenDownloadAsync(TargetName, upload.Id, 0, null, Alice, CancellationToken.None);
        await using var content = download.Content!;
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        Assert.Equal(Sha256Hex(source), Sha256Hex(copy.ToArray()));
    }

    [Fact]
    public async Task The_owners_request_takes_over_its_running_append()
    {
        var source = Bytes(20_000, seed: 42);
        var upload = await CreateAsync(Alice, source.Length);
        var body = new TestBody(source, pauseAt: 7_000);
        var append = h.Coordinator.AppendAsync(Request(upload.Id, 0, source.Length, complete: true) with { Owner = Alice }, body, CancellationToken.None);
        await body.Paused.WaitAsync(Bound);

        var head = await h.Coordinator.GetAsync(TargetName, upload.Id, Alice, CancellationToken.None).WaitAsync(Bound);
        Assert.Equal(7_000, head.Upload!.Offset);
        Assert.Equal(UploadOutcome.Conflict, (await append.WaitAsync(Bound)).Outcome);
    }

    [Fact]
    public async Task An_anonymous_upload_is_everyones()
    {
        var anonymous = await CreateAsync(owner: null, 3);
        Assert.Equal(UploadOutcome.Success, (await h.Coordinator.GetAsync(TargetName, anonymous.Id, Bob, CancellationToken.None)).Outcome);
        Assert.Equal(UploadOutcome.Success, (await h.Coordinator.AppendAsync(Request(anonymous.Id, 0, 3) with { Owner = Alice }, new TestBody([1, 2, 3]), CancellationToken.None)).Outcome);
        Assert.Equal(UploadOutcome.Success, (await h.Coordinator.GetAsync(TargetName, anonymous.Id, CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task A_refused_completion_keeps_the_bytes_open()
    {
        var source = Bytes(10_000, seed: 43);
        var upload = await CreateAsync(Alice, source.Length);
        var asked = 0;
        var refused = await h.Coordinator.AppendAsync(
            Request(upload.Id, 0, source.Length, complete: true) with
            {
                Owner = Alice,
                AuthorizeCompletion = _ =>
                {
                    asked++;
                    return ValueTask.FromResult(false);
                },
            },
            new TestBody(source),
            CancellationToken.None);

        Assert.Equal(1, asked);
        Assert.Equal(UploadOutcome.Forbidden, refused.Outcome);
        Assert.Equal(source.Length, refused.Upload!.Offset);
        Assert.Equal(UploadState.Open, refused.Upload.State);
        Assert.Null(refused.Upload.LeaseOwner);

        var completed = await h.Coordinator.AppendAsync(Request(upload.Id, source.Length, 0, complete: true) with { Owner = Alice }, new TestBody([]), CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, completed.Outcome);
        Assert.Equal(UploadState.Completed, completed.Upload!.State);
    }

    [Fact]
    public async Task Claims_in_the_key_template_must_be_safe_segments()
    {
        using var tenants = new EngineHarness(options: new UploadTargetOptions { Backend = "FileSystem", Prefix = "{claim:tenant}/", KeyTemplate = "{id}" });
        var ok = await tenants.Coordinator.CreateAsync(new CreateUploadRequest { Target = TargetName, Owner = Alice, Principal = With("acme") }, CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, ok.Outcome);
        Assert.Equal("acme/" + ok.Upload!.Id, ok.Upload.ObjectKey);
        foreach (var bad in new[] { With("../x"), With("a/b"), With(".."), With(""), With("ü"), With("acme", "globex"), new ClaimsPrincipal(new ClaimsIdentity("t")), null })
        {
            var refused = await tenants.Coordinator.CreateAsync(new CreateUploadRequest { Target = TargetName, Owner = Alice, Principal = bad }, CancellationToken.None);
            Assert.Equal(UploadOutcome.Forbidden, refused.Outcome);
        }

        static ClaimsPrincipal With(params string[] tenants) =>
            new(new ClaimsIdentity(tenants.Select(t => new Claim("tenant", t)), "t"));
    }

    private async Task<UploadRecord> CreateAsync(string? owner, long length)
    {
        var created = await h.Coordinator.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = length, Owner = owner }, CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, created.Outcome);
        return created.Upload!;
    }
}
