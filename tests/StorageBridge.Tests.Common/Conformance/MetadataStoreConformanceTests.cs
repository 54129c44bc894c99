using StorageBridge.Metadata;
using StorageBridge.Uploads;
using Xunit;

namespace StorageBridge.Tests.Conformance;

/// <summary>
/// Behaviour every <see cref="IUploadMetadataStore"/> must show. A store's test class derives from this and supplies
/// the two factory methods; the facts run unchanged against every store.
/// </summary>
/// <remarks>
/// Rules for implementers:
/// <list type="bullet">
/// <item><see cref="CreateStoreAsync"/> returns an initialized store on a fresh, empty database (file, container,
/// schema...) that no other test sees: the expiry tests assert the exact set of due records.</item>
/// <item><see cref="CreateSecondInstanceAsync"/> returns another initialized instance on the database of the store most
/// recently returned by <see cref="CreateStoreAsync"/>, built the way a second process would build it (its own
/// client / connections), so cross-instance races are real.</item>
/// <item>Versions are treated as opaque strings: the suite never assumes they are numbers.</item>
/// <item>Override <see cref="DisposeAsync"/> to clean up (and call the base).</item>
/// </list>
/// </remarks>
public abstract partial class MetadataStoreConformanceTests : IAsyncLifetime
{
    // Fixed instants with non-UTC offsets and sub-millisecond ticks: round-trips must be exact.
    protected static readonly DateTimeOffset T0 =
        new DateTimeOffset(2025, 3, 14, 9, 26, 53, 589, TimeSpan.FromHours(2)).AddTicks(7_931);

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    /// <summary>Cancelled if a test hangs, so a broken store fails the run instead of stalling it.</summary>
    protected CancellationToken Ct => _timeout.Token;

    /// <summary>A new, initialized store on a fresh, empty database.</summary>
    protected abstract Task<IUploadMetadataStore> CreateStoreAsync();

    /// <summary>A second, independently built and initialized instance on the last created store's database.</summary>
    protected abstract Task<IUploadMetadataStore> CreateSecondInstanceAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync()
    {
        _timeout.Dispose();
        return Task.CompletedTask;
    }

    // ---------------------------------------------------------------- create / get

    [Fact]
    public async Task Create_then_get_round_trips_every_field()
    {
        var store = await CreateStoreAsync();
        var record = FullRecord(UploadIds.New());

        var created = await store.CreateAsync(record, Ct);

        Assert.Equal(MetadataWriteStatus.Success, created.Status);
        Assert.NotNull(created.Record);
        Assert.False(string.IsNullOrEmpty(created.Record.Version));
        AssertSameContent(record, created.Record);

        var read = await store.GetAsync(record.Id, Ct);
        Assert.NotNull(read);
        Assert.Equal(created.Record.Version, read.Version);
        AssertSameContent(record, read);

        // Spot-check the fields that stores most easily get wrong, with exact values.
        Assert.Equal(T0, read.CreatedAt);
        Assert.Equal(TimeSpan.FromHours(2), read.CreatedAt.Offset);
        Assert.Equal(T0.Ticks, read.CreatedAt.Ticks);
        Assert.Equal(TimeSpan.FromHours(-7), read.UpdatedAt.Offset);
        Assert.Equal(T0.AddMinutes(5).ToOffset(TimeSpan.FromHours(-7)).Ticks, read.UpdatedAt.Ticks);
        Assert.Equal(TimeSpan.FromMinutes(330), read.ExpiresAt!.Value.Offset);
        Assert.Equal(TimeSpan.Zero, read.LeaseUntil!.Value.Offset);
        Assert.Equal(3, read.Parts.Count);
        Assert.Equal(new PartRecord(2, 5_242_880, 5_242_880, "\"etag-2\"", "crc32c:AAAAAQ=="), read.Parts[1]);
        Assert.Equal(new PartRecord(3, 10_485_760, 5_242_880), read.Parts[2]);
        Assert.Equal(new TailRecord(7, 1_234), read.Tail);
        Assert.Equal(
            new StoredObject("videos/2025/clip.mp4", 15_729_874, "\"final\"", "sha256:abc=", "video/mp4"),
            read.StoredObject);
        Assert.Equal("ünïcödé ✓ \"quoted\" \\ slash", read.Metadata["note"]);
        Assert.Equal("", read.Metadata["empty"]);
        Assert.Equal("bmFtZQ==", read.ProtocolState["tus-metadata"]);
    }

    [Fact]
    public async Task Create_then_get_round_trips_a_minimal_record_with_null_fields()
    {
        var store = await CreateStoreAsync();
        var record = MinimalRecord(UploadIds.New());

        var created = await store.CreateAsync(record, Ct);
        Assert.Equal(MetadataWriteStatus.Success, created.Status);

        var read = await store.GetAsync(record.Id, Ct);
        Assert.NotNull(read);
        AssertSameContent(record, read);
        Assert.Null(read.Length);
        Assert.Equal(0, read.Offset);
        Assert.Equal(UploadState.Open, read.State);
        Assert.Null(read.ContentType);
        Assert.Null(read.FileName);
        Assert.Empty(read.Metadata);
        Assert.Null(read.Session);
        Assert.Empty(read.Parts);
        Assert.Null(read.Tail);
        Assert.Equal(0, read.TailSequence);
        Assert.Null(read.ExpectedDigestAlgorithm);
        Assert.Null(read.ExpectedDigest);
        Assert.Null(read.HashState);
        Assert.Null(read.Sha256);
        Assert.Null(read.StoredObject);
        Assert.Null(read.ExpiresAt);
        Assert.Null(read.LeaseOwner);
        Assert.Null(read.LeaseUntil);
        Assert.Empty(read.ProtocolState);
    }

    [Fact]
    public async Task Get_unknown_id_returns_null()
    {
        var store = await CreateStoreAsync();
        await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct);

        Assert.Null(await store.GetAsync(UploadIds.New(), Ct));
    }

    [Fact]
    public async Task Create_with_an_existing_id_conflicts_and_keeps_the_original()
    {
        var store = await CreateStoreAsync();
        var original = FullRecord(UploadIds.New());
        var first = await store.CreateAsync(original, Ct);

        var second = await store.CreateAsync(MinimalRecord(original.Id) with { ObjectKey = "other" }, Ct);

        Assert.Equal(MetadataWriteStatus.Conflict, second.Status);
        Assert.Null(second.Record);
        var read = await store.GetAsync(original.Id, Ct);
        Assert.NotNull(read);
        Assert.Equal(first.Record!.Version, read.Version);
        AssertSameContent(original, read);
    }

    [Fact]
    public async Task Records_are_independent()
    {
        var store = await CreateStoreAsync();
        var a = MinimalRecord(UploadIds.New()) with { Offset = 1 };
        var b = MinimalRecord(UploadIds.New()) with { Offset = 2 };
        var createdA = (await store.CreateAsync(a, Ct)).Record!;
        await store.CreateAsync(b, Ct);

        await store.TryReplaceAsync(createdA with { Offset = 10 }, Ct);
        Assert.Equal(MetadataWriteStatus.Success, await store.TryDeleteAsync(b.Id, (await store.GetAsync(b.Id, Ct))!.Version, Ct));

        Assert.Equal(10, (await store.GetAsync(a.Id, Ct))!.Offset);
        Assert.Null(await store.GetAsync(b.Id, Ct));
    }

    // ---------------------------------------------------------------- replace

    [Fact]
    public async Task Replace_with_the_current_version_succeeds_and_issues_a_new_version()
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(FullRecord(UploadIds.New()), Ct)).Record!;
        var changed = created with
        {
            Offset = 15_000_000,
            State = UploadState.Completing,
            Parts = [.. created.Parts, new PartRecord(4, 15_728_640, 1_234, "\"etag-4\"")],
            Tail = null,
            Metadata = new Dictionary<string, string> { ["k"] = "v2" },
            LeaseOwner = null,
            LeaseUntil = null,
            ExpiresAt = null,
            UpdatedAt = T0.AddHours(1),
        };

        var replaced = await store.TryReplaceAsync(changed, Ct);

        Assert.Equal(MetadataWriteStatus.Success, replaced.Status);
        Assert.NotNull(replaced.Record);
        Assert.False(string.IsNullOrEmpty(replaced.Record.Version));
        Assert.NotEqual(created.Version, replaced.Record.Version);
        AssertSameContent(changed, replaced.Record);

        var read = await store.GetAsync(created.Id, Ct);
        Assert.NotNull(read);
        Assert.Equal(replaced.Record.Version, read.Version);
        AssertSameContent(changed, read);
        Assert.Equal(15_000_000, read.Offset);
        Assert.Equal(UploadState.Completing, read.State);
        Assert.Equal(4, read.Parts.Count);
        Assert.Null(read.Tail);
        Assert.Equal("v2", Assert.Single(read.Metadata).Value);
        Assert.Null(read.ExpiresAt);
    }

    [Fact]
    public async Task Successive_replaces_each_issue_a_distinct_version()
    {
        var store = await CreateStoreAsync();
        var current = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;
        var versions = new HashSet<string>(StringComparer.Ordinal) { current.Version };

        for (var i = 1; i <= 10; i++)
        {
            var result = await store.TryReplaceAsync(current with { Offset = i }, Ct);
            Assert.Equal(MetadataWriteStatus.Success, result.Status);
            current = result.Record!;
            Assert.True(versions.Add(current.Version), $"version {current.Version} was issued twice");
        }

        var read = await store.GetAsync(current.Id, Ct);
        Assert.Equal(10, read!.Offset);
        Assert.Equal(current.Version, read.Version);
    }

    [Fact]
    public async Task Replace_with_a_stale_version_conflicts_and_leaves_the_record_unchanged()
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;
        var second = (await store.TryReplaceAsync(created with { Offset = 100 }, Ct)).Record!;

        var stale = await store.TryReplaceAsync(created with { Offset = 999, State = UploadState.Cancelled }, Ct);

        Assert.Equal(MetadataWriteStatus.Conflict, stale.Status);
        Assert.Null(stale.Record);
        var read = await store.GetAsync(created.Id, Ct);
        Assert.NotNull(read);
        Assert.Equal(second.Version, read.Version);
        Assert.Equal(100, read.Offset);
        Assert.Equal(UploadState.Open, read.State);
        AssertSameContent(second, read);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-version")]
    [InlineData("\"00000000-0000-0000-0000-000000000000\"")]
    [InlineData("999999")]
    public async Task Replace_with_a_version_the_store_never_issued_conflicts(string version)
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;

        var result = await store.TryReplaceAsync(created with { Offset = 5, Version = version }, Ct);

        Assert.Equal(MetadataWriteStatus.Conflict, result.Status);
        var read = await store.GetAsync(created.Id, Ct);
        Assert.Equal(created.Version, read!.Version);
        Assert.Equal(0, read.Offset);
    }

    [Fact]
    public async Task Replace_of_a_record_that_was_never_created_returns_not_found()
    {
        var store = await CreateStoreAsync();
        var other = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;
        var missing = MinimalRecord(UploadIds.New()) with { Version = other.Version };

        var result = await store.TryReplaceAsync(missing, Ct);

        Assert.Equal(MetadataWriteStatus.NotFound, result.Status);
        Assert.Null(result.Record);
        Assert.Null(await store.GetAsync(missing.Id, Ct));
    }

    [Fact]
    public async Task Replace_of_a_deleted_record_returns_not_found_and_does_not_resurrect_it()
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;
        Assert.Equal(MetadataWriteStatus.Success, await store.TryDeleteAsync(created.Id, created.Version, Ct));

        var result = await store.TryReplaceAsync(created with { Offset = 1 }, Ct);

        Assert.Equal(MetadataWriteStatus.NotFound, result.Status);
        Assert.Null(await store.GetAsync(created.Id, Ct));
    }

    // ---------------------------------------------------------------- delete

    [Fact]
    public async Task Delete_with_the_current_version_removes_the_record()
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(FullRecord(UploadIds.New()), Ct)).Record!;

        Assert.Equal(MetadataWriteStatus.Success, await store.TryDeleteAsync(created.Id, created.Version, Ct));

        Assert.Null(await store.GetAsync(created.Id, Ct));
        Assert.Equal(MetadataWriteStatus.NotFound, await store.TryDeleteAsync(created.Id, created.Version, Ct));
    }

    [Fact]
    public async Task Delete_after_replace_needs_the_new_version()
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;
        var replaced = (await store.TryReplaceAsync(created with { Offset = 7 }, Ct)).Record!;

        Assert.Equal(MetadataWriteStatus.Conflict, await store.TryDeleteAsync(created.Id, created.Version, Ct));
        var read = await store.GetAsync(created.Id, Ct);
        Assert.NotNull(read);
        Assert.Equal(replaced.Version, read.Version);
        Assert.Equal(7, read.Offset);

        Assert.Equal(MetadataWriteStatus.Success, await store.TryDeleteAsync(created.Id, replaced.Version, Ct));
        Assert.Null(await store.GetAsync(created.Id, Ct));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-version")]
    [InlineData("999999")]
    public async Task Delete_with_a_version_the_store_never_issued_conflicts(string version)
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;

        Assert.Equal(MetadataWriteStatus.Conflict, await store.TryDeleteAsync(created.Id, version, Ct));
        Assert.Equal(created.Version, (await store.GetAsync(created.Id, Ct))!.Version);
    }

    [Fact]
    public async Task Delete_of_an_unknown_id_returns_not_found()
    {
        var store = await CreateStoreAsync();
        var other = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;

        Assert.Equal(MetadataWriteStatus.NotFound, await store.TryDeleteAsync(UploadIds.New(), other.Version, Ct));
        Assert.NotNull(await store.GetAsync(other.Id, Ct));
    }

    // ---------------------------------------------------------------- expiry

    [Fact]
    public async Task List_expired_returns_only_due_records_oldest_first()
    {
        var store = await CreateStoreAsync();
        var now = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

        // Offsets differ on purpose: ordering must follow the instant, not the local wall-clock text.
        var threeHoursAgo = await CreateExpiring(store, now.AddHours(-3).ToOffset(TimeSpan.FromHours(9)));
        var oneHourAgo = await CreateExpiring(store, now.AddHours(-1).ToOffset(TimeSpan.FromHours(-10)));
        var twoHoursAgo = await CreateExpiring(store, now.AddHours(-2));
        var exactlyNow = await CreateExpiring(store, now.ToOffset(TimeSpan.FromHours(5)));
        var longAgo = await CreateExpiring(store, now.AddDays(-400).ToOffset(TimeSpan.FromHours(-3)));
        await CreateExpiring(store, now.AddMilliseconds(1));
        await CreateExpiring(store, now.AddHours(1).ToOffset(TimeSpan.FromHours(-12)));
        await CreateExpiring(store, now.AddHours(-1).ToOffset(TimeSpan.FromHours(14)).AddDays(2)); // +47h
        await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct); // ExpiresAt null: never listed

        var due = await ListExpired(store, now, 100);

        Assert.Equal(
            [longAgo.Id, threeHoursAgo.Id, twoHoursAgo.Id, oneHourAgo.Id, exactlyNow.Id],
            due.Select(r => r.Id).ToArray());
        Assert.Equal(longAgo.ExpiresAt, due[0].ExpiresAt);
        AssertSameContent(threeHoursAgo, due[1]);
        Assert.Equal(threeHoursAgo.Version, due[1].Version);
    }

    [Fact]
    public async Task List_expired_honours_the_limit_keeping_the_oldest()
    {
        var store = await CreateStoreAsync();
        var now = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.FromHours(1));
        var created = new List<UploadRecord>();
        foreach (var minutes in new[] { 50, 10, 40, 20, 30 })
        {
            created.Add(await CreateExpiring(store, now.AddMinutes(-minutes)));
        }

        var two = await ListExpired(store, now, 2);
        var all = await ListExpired(store, now, 5);
        var one = await ListExpired(store, now, 1);

        Assert.Equal([created[0].Id, created[2].Id], two.Select(r => r.Id).ToArray());
        Assert.Equal(
            [created[0].Id, created[2].Id, created[4].Id, created[3].Id, created[1].Id],
            all.Select(r => r.Id).ToArray());
        Assert.Equal(created[0].Id, Assert.Single(one).Id);
    }

    [Fact]
    public async Task List_expired_with_nothing_due_is_empty()
    {
        var store = await CreateStoreAsync();
        var now = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
        await CreateExpiring(store, now.AddSeconds(1));
        await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct);

        Assert.Empty(await ListExpired(store, now, 10));
    }

    [Fact]
    public async Task List_expired_follows_replaces_and_deletes()
    {
        var store = await CreateStoreAsync();
        var now = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var postponed = await CreateExpiring(store, now.AddMinutes(-5));
        var cleared = await CreateExpiring(store, now.AddMinutes(-4));
        var deleted = await CreateExpiring(store, now.AddMinutes(-3));
        var broughtForward = await CreateExpiring(store, now.AddDays(1));

        await store.TryReplaceAsync(postponed with { ExpiresAt = now.AddMinutes(5) }, Ct);
        await store.TryReplaceAsync(cleared with { ExpiresAt = null, State = UploadState.Completed }, Ct);
        await store.TryDeleteAsync(deleted.Id, deleted.Version, Ct);
        var forward = (await store.TryReplaceAsync(broughtForward with { ExpiresAt = now.AddMinutes(-10) }, Ct)).Record!;

        var due = await ListExpired(store, now, 10);

        var only = Assert.Single(due);
        Assert.Equal(broughtForward.Id, only.Id);
        Assert.Equal(forward.Version, only.Version);
    }

    [Fact]
    public async Task Listed_records_carry_a_version_usable_for_delete()
    {
        var store = await CreateStoreAsync();
        var now = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var record = await CreateExpiring(store, now.AddMinutes(-1));
        await store.TryReplaceAsync(record with { State = UploadState.Expired }, Ct);

        var listed = Assert.Single(await ListExpired(store, now, 10));

        Assert.Equal(UploadState.Expired, listed.State);
        Assert.Equal(MetadataWriteStatus.Success, await store.TryDeleteAsync(listed.Id, listed.Version, Ct));
        Assert.Empty(await ListExpired(store, now, 10));
    }

    // ---------------------------------------------------------------- concurrency

    [Fact]
    public async Task Writers_racing_on_the_same_version_exactly_one_wins()
    {
        var store = await CreateStoreAsync();

        for (var round = 0; round < 5; round++)
        {
            var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;
            const int Writers = 8;
            var results = await RaceAsync(Writers, i => store.TryReplaceAsync(created with { Offset = i + 1 }, Ct));

            var winners = results.Where(r => r.Status == MetadataWriteStatus.Success).ToArray();
            var winner = Assert.Single(winners);
            Assert.Equal(Writers - 1, results.Count(r => r.Status == MetadataWriteStatus.Conflict));

            var read = await store.GetAsync(created.Id, Ct);
            Assert.Equal(winner.Record!.Version, read!.Version);
            Assert.Equal(winner.Record.Offset, read.Offset);
        }
    }

    [Fact]
    public async Task Two_writers_racing_exactly_one_wins()
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;

        var results = await RaceAsync(2, i => store.TryReplaceAsync(created with { Offset = 10 + i }, Ct));

        Assert.Equal(1, results.Count(r => r.Status == MetadataWriteStatus.Success));
        Assert.Equal(1, results.Count(r => r.Status == MetadataWriteStatus.Conflict));
        var winner = results.Single(r => r.Status == MetadataWriteStatus.Success).Record!;
        Assert.Equal(winner.Offset, (await store.GetAsync(created.Id, Ct))!.Offset);
    }

    [Fact]
    public async Task Creates_racing_on_the_same_id_exactly_one_wins()
    {
        var store = await CreateStoreAsync();
        var id = UploadIds.New();

        var results = await RaceAsync(8, i => store.CreateAsync(MinimalRecord(id) with { Offset = i }, Ct));

        var winner = Assert.Single(results, r => r.Status == MetadataWriteStatus.Success);
        Assert.Equal(7, results.Count(r => r.Status == MetadataWriteStatus.Conflict));
        Assert.Equal(winner.Record!.Offset, (await store.GetAsync(id, Ct))!.Offset);
    }

    [Fact]
    public async Task Deletes_and_replaces_racing_never_both_win()
    {
        var store = await CreateStoreAsync();

        for (var round = 0; round < 5; round++)
        {
            var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;

            var results = await RaceAsync(2, async i => i == 0
                ? (await store.TryReplaceAsync(created with { Offset = 1 }, Ct)).Status
                : await store.TryDeleteAsync(created.Id, created.Version, Ct));

            Assert.Equal(1, results.Count(s => s == MetadataWriteStatus.Success));
            var read = await store.GetAsync(created.Id, Ct);
            if (results[0] == MetadataWriteStatus.Success)
            {
                Assert.Equal(MetadataWriteStatus.Conflict, results[1]);
                Assert.Equal(1, read!.Offset);
            }
            else
            {
                Assert.Contains(results[0], new[] { MetadataWriteStatus.Conflict, MetadataWriteStatus.NotFound });
                Assert.Null(read);
            }
        }
    }

    [Fact]
    public async Task Concurrent_read_modify_write_loops_lose_no_updates()
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;

        var versions = await RaceAsync(40, _ => IncrementOffsetAsync(store, created.Id));

        var read = await store.GetAsync(created.Id, Ct);
        Assert.Equal(40, read!.Offset);
        Assert.Equal(40, versions.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain(created.Version, versions);
    }

    [Fact]
    public async Task Concurrent_read_modify_write_loops_across_two_instances_lose_no_updates()
    {
        var first = await CreateStoreAsync();
        var second = await CreateSecondInstanceAsync();
        var created = (await first.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;

        var versions = await RaceAsync(40, i => IncrementOffsetAsync(i % 2 == 0 ? first : second, created.Id));

        Assert.Equal(40, (await first.GetAsync(created.Id, Ct))!.Offset);
        Assert.Equal(40, (await second.GetAsync(created.Id, Ct))!.Offset);
        Assert.Equal(40, versions.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task Writers_on_two_instances_racing_on_the_same_version_exactly_one_wins()
    {
        var first = await CreateStoreAsync();
        var second = await CreateSecondInstanceAsync();

        for (var round = 0; round < 5; round++)
        {
            var created = (await first.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;

            var results = await RaceAsync(
                8, i => (i % 2 == 0 ? first : second).TryReplaceAsync(created with { Offset = i + 1 }, Ct));

            var winner = Assert.Single(results, r => r.Status == MetadataWriteStatus.Success);
            Assert.Equal(7, results.Count(r => r.Status == MetadataWriteStatus.Conflict));
            Assert.Equal(winner.Record!.Offset, (await second.GetAsync(created.Id, Ct))!.Offset);
            Assert.Equal(winner.Record.Version, (await first.GetAsync(created.Id, Ct))!.Version);
        }
    }

    [Fact]
    public async Task Two_instances_see_each_others_writes()
    {
        var first = await CreateStoreAsync();
        var second = await CreateSecondInstanceAsync();
        var record = FullRecord(UploadIds.New());

        var created = (await first.CreateAsync(record, Ct)).Record!;
        var seen = await second.GetAsync(record.Id, Ct);
        Assert.NotNull(seen);
        Assert.Equal(created.Version, seen.Version);
        AssertSameContent(record, seen);

        Assert.Equal(MetadataWriteStatus.Conflict, (await second.CreateAsync(record, Ct)).Status);

        var replaced = (await second.TryReplaceAsync(seen with { Offset = 42 }, Ct)).Record!;
        Assert.Equal(MetadataWriteStatus.Conflict, (await first.TryReplaceAsync(created with { Offset = 1 }, Ct)).Status);
        Assert.Equal(42, (await first.GetAsync(record.Id, Ct))!.Offset);

        Assert.Equal(MetadataWriteStatus.Conflict, await first.TryDeleteAsync(record.Id, created.Version, Ct));
        Assert.Equal(MetadataWriteStatus.Success, await first.TryDeleteAsync(record.Id, replaced.Version, Ct));
        Assert.Null(await second.GetAsync(record.Id, Ct));
    }

    // ---------------------------------------------------------------- cancellation

    [Fact]
    public async Task Operations_honour_a_cancelled_token()
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.GetAsync(created.Id, cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => store.CreateAsync(MinimalRecord(UploadIds.New()), cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => store.TryReplaceAsync(created with { Offset = 9 }, cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => store.TryDeleteAsync(created.Id, created.Version, cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var unused in store.ListExpiredAsync(T0, 10, cts.Token))
            {
            }
        });

        var read = await store.GetAsync(created.Id, Ct);
        Assert.Equal(created.Version, read!.Version);
        Assert.Equal(0, read.Offset);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>A record with every field set, non-UTC offsets and sub-millisecond instants.</summary>
    protected static UploadRecord FullRecord(string id) => new()
    {
        Id = id,
        Target = "media",
        ObjectKey = "videos/2025/clip.mp4",
        Protocol = "tus",
        Length = 15_729_874,
        Offset = 15_729_154,
        State = UploadState.Open,
        ContentType = "video/mp4",
        FileName = "clip (final).mp4",
        Metadata = new Dictionary<string, string>
        {
            ["note"] = "ünïcödé ✓ \"quoted\" \\ slash",
            ["empty"] = "",
            ["Mixed-Case"] = "yes",
        },
        Session = "s3-upload-id/AbC.123~_-",
        Parts =
        [
            new PartRecord(1, 0, 5_242_880, "\"etag-1\"", "crc32c:AAAAAA=="),
            new PartRecord(2, 5_242_880, 5_242_880, "\"etag-2\"", "crc32c:AAAAAQ=="),
            new PartRecord(3, 10_485_760, 5_242_880),
        ],
        Tail = new TailRecord(7, 1_234),
        TailSequence = 9,
        ExpectedDigestAlgorithm = "sha-256",
        ExpectedDigest = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        HashState = "c2hhMjU2LXN0YXRl",
        Sha256 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
        StoredObject = new StoredObject("videos/2025/clip.mp4", 15_729_874, "\"final\"", "sha256:abc=", "video/mp4"),
        CreatedAt = T0,
        UpdatedAt = T0.AddMinutes(5).ToOffset(TimeSpan.FromHours(-7)),
        ExpiresAt = T0.AddDays(1).ToOffset(TimeSpan.FromMinutes(330)),
        LeaseOwner = "instance-a/1234",
        LeaseUntil = T0.AddSeconds(30).ToUniversalTime(),
        ProtocolState = new Dictionary<string, string> { ["tus-metadata"] = "bmFtZQ==", ["x"] = "1" },
        Assembled = true,
    };

    /// <summary>A record with only the required fields; everything nullable is null, collections empty.</summary>
    protected static UploadRecord MinimalRecord(string id) => new()
    {
        Id = id,
        Target = "t",
        ObjectKey = "k/" + id,
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    /// <summary>Everything but <see cref="UploadRecord.Version"/> equal, with exact values.</summary>
    protected static void AssertSameContent(UploadRecord expected, UploadRecord actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Target, actual.Target);
        Assert.Equal(expected.ObjectKey, actual.ObjectKey);
        Assert.Equal(expected.Protocol, actual.Protocol);
        Assert.Equal(expected.Length, actual.Length);
        Assert.Equal(expected.Offset, actual.Offset);
        Assert.Equal(expected.State, actual.State);
        Assert.Equal(expected.ContentType, actual.ContentType);
        Assert.Equal(expected.FileName, actual.FileName);
        AssertSameDictionary(expected.Metadata, actual.Metadata);
        Assert.Equal(expected.Session, actual.Session);
        Assert.Equal(expected.Parts, actual.Parts);
        Assert.Equal(expected.Tail, actual.Tail);
        Assert.Equal(expected.TailSequence, actual.TailSequence);
        Assert.Equal(expected.ExpectedDigestAlgorithm, actual.ExpectedDigestAlgorithm);
        Assert.Equal(expected.ExpectedDigest, actual.ExpectedDigest);
        Assert.Equal(expected.HashState, actual.HashState);
        Assert.Equal(expected.Sha256, actual.Sha256);
        Assert.Equal(expected.StoredObject, actual.StoredObject);
        AssertSameInstant(expected.CreatedAt, actual.CreatedAt);
        AssertSameInstant(expected.UpdatedAt, actual.UpdatedAt);
        AssertSameInstant(expected.ExpiresAt, actual.ExpiresAt);
        Assert.Equal(expected.LeaseOwner, actual.LeaseOwner);
        AssertSameInstant(expected.LeaseUntil, actual.LeaseUntil);
        AssertSameDictionary(expected.ProtocolState, actual.ProtocolState);
        Assert.Equal(expected.Assembled, actual.Assembled);

        // Catches fields added to UploadRecord after this suite was written.
        Assert.Equal(UploadRecordJson.Serialize(expected), UploadRecordJson.Serialize(actual));
    }

    private static void AssertSameInstant(DateTimeOffset? expected, DateTimeOffset? actual)
    {
        Assert.Equal(expected, actual);
        Assert.Equal(expected?.Ticks, actual?.Ticks);
        Assert.Equal(expected?.Offset, actual?.Offset);
    }

    private static void AssertSameDictionary(IReadOnlyDictionary<string, string> expected, IReadOnlyDictionary<string, string> actual)
    {
        Assert.Equal(
            expected.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray(),
            actual.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray());
    }

    private async Task<UploadRecord> CreateExpiring(IUploadMetadataStore store, DateTimeOffset expiresAt)
    {
        var result = await store.CreateAsync(MinimalRecord(UploadIds.New()) with { ExpiresAt = expiresAt }, Ct);
        Assert.Equal(MetadataWriteStatus.Success, result.Status);
        return result.Record!;
    }

    private async Task<List<UploadRecord>> ListExpired(IUploadMetadataStore store, DateTimeOffset now, int limit)
    {
        var list = new List<UploadRecord>();
        await foreach (var record in store.ListExpiredAsync(now, limit, Ct))
        {
            list.Add(record);
        }

        return list;
    }

    /// <summary>Get, add one to Offset, replace; retry on conflict. Returns the version its write produced.</summary>
    private async Task<string> IncrementOffsetAsync(IUploadMetadataStore store, string id)
    {
        for (var attempt = 0; attempt < 10_000; attempt++)
        {
            var current = await store.GetAsync(id, Ct) ?? throw new InvalidOperationException("record vanished");

            // Stores with synchronous I/O underneath would otherwise run each read-modify-write back to back;
            // yielding lets other loops read the same version, as concurrent requests do.
            await Task.Yield();
            var result = await store.TryReplaceAsync(current with { Offset = current.Offset + 1 }, Ct);
            switch (result.Status)
            {
                case MetadataWriteStatus.Success:
                    Assert.Equal(current.Offset + 1, result.Record!.Offset);
                    return result.Record.Version;
                case MetadataWriteStatus.Conflict:
                    continue;
                default:
                    throw new InvalidOperationException($"unexpected {result.Status}");
            }
        }

        throw new InvalidOperationException("no progress after 10000 attempts");
    }

    /// <summary>Runs <paramref name="count"/> operations on pool threads, released together.</summary>
    private static async Task<T[]> RaceAsync<T>(int count, Func<int, Task<T>> operation)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, count)
            .Select(i => Task.Run(async () =>
            {
                await start.Task;
                return await operation(i);
            }))
            .ToArray();
        start.SetResult();
        return await Task.WhenAll(tasks);
    }
}
