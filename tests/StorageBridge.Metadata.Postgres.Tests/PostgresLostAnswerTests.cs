using System.Globalization;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.Postgres.Tests;

/// <summary>
/// The write lands but its answer is lost with the connection (<see cref="CuttingTcpProxy"/>): the store retries on a
/// new connection, finds its own write in place and reports the success it was, once, instead of a phantom conflict.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresLostAnswerTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2025, 6, 1, 12, 0, 0, TimeSpan.FromHours(1));

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(1));
    private CuttingTcpProxy _proxy = null!;
    private PostgresUploadMetadataStore _store = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        _proxy = new CuttingTcpProxy(postgres.Server.Port);
        var connection = $"Host=127.0.0.1;Port={_proxy.Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database={PostgresFixture.Database}";
        _store = new PostgresUploadMetadataStore(new PostgresMetadataOptions { ConnectionString = connection, Schema = PostgresFixture.NewSchema() });
        await _store.InitializeAsync(Ct);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _proxy.DisposeAsync();
        _timeout.Dispose();
    }

    [Fact]
    public async Task A_replace_whose_answer_was_lost_is_reported_as_the_success_it_was()
    {
        var created = (await _store.CreateAsync(Record(), Ct)).Record!;

        _proxy.CutAnswerTo("WITH swapped AS (UPDATE");
        var result = await _store.TryReplaceAsync(created with { Offset = 42 }, Ct);

        Assert.Equal(1, _proxy.Cuts);
        Assert.Equal(MetadataWriteStatus.Success, result.Status);
        Assert.Equal("2", result.Record!.Version); // applied once
        var read = await _store.GetAsync(created.Id, Ct);
        Assert.Equal("2", read!.Version);
        Assert.Equal(42, read.Offset);
    }

    [Fact]
    public async Task A_create_whose_answer_was_lost_is_reported_as_the_success_it_was()
    {
        var record = Record();

        _proxy.CutAnswerTo("INSERT INTO");
        var result = await _store.CreateAsync(record, Ct);

        Assert.Equal(1, _proxy.Cuts);
        Assert.Equal(MetadataWriteStatus.Success, result.Status);
        Assert.Equal("1", result.Record!.Version);
        Assert.Equal(record.Id, (await _store.GetAsync(record.Id, Ct))!.Id);
    }

    [Fact]
    public async Task A_lookup_add_and_replace_whose_answers_were_lost_are_reported_as_the_successes_they_were()
    {
        var lookup = new UploadLookup { Key = "rjs:lost", UploadId = "u1", CreatedAt = T0, UpdatedAt = T0, ExpiresAt = T0.AddDays(1) };

        _proxy.CutAnswerTo("INSERT INTO");
        var added = await _store.TryAddLookupAsync(lookup, Ct);
        Assert.Equal(MetadataWriteStatus.Success, added.Status);
        Assert.Equal("1", added.Lookup!.Version);

        _proxy.CutAnswerTo("WITH swapped AS (UPDATE");
        var replaced = await _store.TryReplaceLookupAsync(added.Lookup with { UploadId = "u2", UpdatedAt = T0.AddMinutes(1) }, Ct);

        Assert.Equal(2, _proxy.Cuts);
        Assert.Equal(MetadataWriteStatus.Success, replaced.Status);
        Assert.Equal("2", replaced.Lookup!.Version);
        Assert.Equal("u2", (await _store.GetLookupAsync("rjs:lost", Ct))!.UploadId);
    }

    private static UploadRecord Record() => new() { Id = UploadIds.New(), Target = "default", ObjectKey = "k", CreatedAt = T0, UpdatedAt = T0 };
}
