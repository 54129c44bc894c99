using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StorageBridge.AspNetCore;
using StorageBridge.Metadata.Sqlite;
using StorageBridge.Tests.Support;
using StorageBridge.Uploads;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.Postgres.Tests;

/// <summary>
/// Measurements printed to the test output (assertions check only correctness, never time): the cost of one create and
/// one compare-and-swap on the local PostgreSQL against SQLite, and how many store calls one upload makes.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class MetadataCostMeasurements(PostgresFixture postgres, ITestOutputHelper output)
{
    private const int Operations = 500;

    [Fact]
    public async Task Time_per_create_and_per_compare_and_swap_postgres_and_sqlite()
    {
        using var temp = new TempDirectory("sb-pg-timing");
        var stores = new (string Name, Func<IUploadMetadataStore> Create)[]
        {
            ("PostgreSQL (synchronous_commit on)", () => new PostgresUploadMetadataStore(new PostgresMetadataOptions { ConnectionString = postgres.ConnectionString, Schema = PostgresFixture.NewSchema() })),
            ("PostgreSQL (synchronous_commit off)", () => new PostgresUploadMetadataStore(new PostgresMetadataOptions { ConnectionString = postgres.ConnectionString + ";Options=-c synchronous_commit=off", Schema = PostgresFixture.NewSchema() })),
            ("SQLite (WAL, synchronous NORMAL)", () => new SqliteUploadMetadataStore(new SqliteMetadataOptions { Path = temp.Combine("timing.db") })),
        };

        foreach (var (name, create) in stores)
        {
            var store = create();
            try
            {
                await store.InitializeAsync(CancellationToken.None);
                await MeasureAsync(name, store);
            }
            finally
            {
                (store as IDisposable)?.Dispose();
            }
        }
    }

    [Fact]
    public async Task Store_calls_per_upload_through_the_ietf_endpoint()
    {
        using var temp = new TempDirectory("sb-pg-calls");
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:ConnectionString"] = postgres.ConnectionString,
            ["StorageBridge:Metadata:Schema"] = PostgresFixture.NewSchema(),
            ["StorageBridge:Targets:default:Root"] = temp.Combine("files"),
        };
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddSingleton<StoreCallCounts>();
        builder.Services.AddStorageBridgePostgres();
        builder.Services.AddStorageBridge(builder.Configuration).UseMetadataStore<CountingPostgresFactory>(CountingPostgresFactory.ProviderName);
        await using var app = builder.Build();
        app.MapResumableUploads("/uploads");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address + "/") };
        var counts = app.Services.GetRequiredService<StoreCallCounts>();

        foreach (var appends in new[] { 1, 4, 16 })
        {
            const int Chunk = 256 * 1024;
            var source = RandomNumberGenerator.GetBytes(appends * Chunk);
            counts.Reset();
            using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent([]) };
            create.Headers.Add("Upload-Draft-Interop-Version", "8");
            create.Headers.Add("Upload-Complete", "?0");
            create.Headers.Add("Upload-Length", source.Length.ToString(CultureInfo.InvariantCulture));
            using var created = await client.SendAsync(create);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var path = created.Headers.Location!.OriginalString;
            for (var i = 0; i < appends; i++)
            {
                using var append = new HttpRequestMessage(HttpMethod.Patch, path) { Content = new ByteArrayContent(source[(i * Chunk)..((i + 1) * Chunk)]) };
                append.Headers.Add("Upload-Draft-Interop-Version", "8");
                append.Headers.Add("Upload-Offset", (i * Chunk).ToString(CultureInfo.InvariantCulture));
                append.Headers.Add("Upload-Complete", i == appends - 1 ? "?1" : "?0");
                append.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
                using var response = await client.SendAsync(append);
                Assert.True(response.IsSuccessStatusCode, $"append {i}: {(int)response.StatusCode}");
            }

            var id = path[(path.LastIndexOf('/') + 1)..];
            Assert.Equal(SHA256.HashData(source), SHA256.HashData(await File.ReadAllBytesAsync(temp.Combine("files", id))));
            output.WriteLine($"IETF upload, create + {appends} append(s) of 256 KiB, file target: {counts}");
        }

        await app.StopAsync();
    }

    private async Task MeasureAsync(string name, IUploadMetadataStore store)
    {
        var now = DateTimeOffset.UtcNow;
        UploadRecord New() => new() { Id = UploadIds.New(), Target = "default", ObjectKey = "k", CreatedAt = now, UpdatedAt = now, ExpiresAt = now.AddDays(1) };

        // Warm up connections, JIT and the server's caches.
        for (var i = 0; i < 50; i++)
        {
            await store.CreateAsync(New(), CancellationToken.None);
        }

        var creates = new double[Operations];
        for (var i = 0; i < Operations; i++)
        {
            var watch = Stopwatch.StartNew();
            var result = await store.CreateAsync(New(), CancellationToken.None);
            creates[i] = watch.Elapsed.TotalMicroseconds;
            Assert.Equal(MetadataWriteStatus.Success, result.Status);
        }

        var record = (await store.CreateAsync(New(), CancellationToken.None)).Record!;
        var swaps = new double[Operations];
        for (var i = 0; i < Operations; i++)
        {
            var watch = Stopwatch.StartNew();
            var result = await store.TryReplaceAsync(record with { Offset = record.Offset + 1 }, CancellationToken.None);
            swaps[i] = watch.Elapsed.TotalMicroseconds;
            Assert.Equal(MetadataWriteStatus.Success, result.Status);
            record = result.Record!;
        }

        var reads = new double[Operations];
        for (var i = 0; i < Operations; i++)
        {
            var watch = Stopwatch.StartNew();
            Assert.NotNull(await store.GetAsync(record.Id, CancellationToken.None));
            reads[i] = watch.Elapsed.TotalMicroseconds;
        }

        Assert.Equal(Operations, (await store.GetAsync(record.Id, CancellationToken.None))!.Offset);
        output.WriteLine($"{name}: create {Describe(creates)}; compare-and-swap {Describe(swaps)}; read {Describe(reads)} ({Operations} each, sequential)");
    }

    private static string Describe(double[] microseconds)
    {
        var sorted = microseconds.Order().ToArray();
        return string.Create(
            CultureInfo.InvariantCulture,
            $"mean {microseconds.Average():F0} µs, p50 {sorted[sorted.Length / 2]:F0} µs, p99 {sorted[(int)(sorted.Length * 0.99)]:F0} µs");
    }

    /// <summary>Store calls by operation since the last <see cref="Reset"/>.</summary>
    private sealed class StoreCallCounts
    {
        private readonly ConcurrentDictionary<string, int> _counts = new();

        public void Add(string operation) => _counts.AddOrUpdate(operation, 1, (_, n) => n + 1);

        public void Reset() => _counts.Clear();

        public override string ToString() =>
            $"{_counts.Values.Sum()} store calls ({string.Join(", ", _counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"))})";
    }

    /// <summary><c>Provider: CountingPostgres</c>: the PostgreSQL store behind a counter of its calls.</summary>
    private sealed class CountingPostgresFactory : IUploadMetadataStoreFactory
    {
        public const string ProviderName = "CountingPostgres";

        public string Name => ProviderName;

        public IUploadMetadataStore Create(IServiceProvider services) =>
            new CountingStore(
                new PostgresUploadMetadataStore(services.GetRequiredService<IOptions<PostgresMetadataOptions>>().Value),
                services.GetRequiredService<StoreCallCounts>());
    }

    private sealed class CountingStore(PostgresUploadMetadataStore inner, StoreCallCounts counts) : IUploadMetadataStore, IAsyncDisposable
    {
        public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

        public Task<MetadataWriteResult> CreateAsync(UploadRecord record, CancellationToken cancellationToken) => Count("create", inner.CreateAsync(record, cancellationToken));

        public Task<UploadRecord?> GetAsync(string id, CancellationToken cancellationToken) => Count("get", inner.GetAsync(id, cancellationToken));

        public Task<MetadataWriteResult> TryReplaceAsync(UploadRecord record, CancellationToken cancellationToken) => Count("replace", inner.TryReplaceAsync(record, cancellationToken));

        public Task<MetadataWriteStatus> TryDeleteAsync(string id, string version, CancellationToken cancellationToken) => Count("delete", inner.TryDeleteAsync(id, version, cancellationToken));

        public IAsyncEnumerable<UploadRecord> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
        {
            counts.Add("list-expired");
            return inner.ListExpiredAsync(now, limit, cancellationToken);
        }

        public IAsyncEnumerable<UploadRecord> ListDueEventsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
        {
            counts.Add("list-due-events");
            return inner.ListDueEventsAsync(now, limit, cancellationToken);
        }

        public Task<LookupWriteResult> TryAddLookupAsync(UploadLookup lookup, CancellationToken cancellationToken) => Count("add-lookup", inner.TryAddLookupAsync(lookup, cancellationToken));

        public Task<UploadLookup?> GetLookupAsync(string key, CancellationToken cancellationToken) => Count("get-lookup", inner.GetLookupAsync(key, cancellationToken));

        public Task<LookupWriteResult> TryReplaceLookupAsync(UploadLookup lookup, CancellationToken cancellationToken) => Count("replace-lookup", inner.TryReplaceLookupAsync(lookup, cancellationToken));

        public Task<MetadataWriteStatus> TryDeleteLookupAsync(string key, string version, CancellationToken cancellationToken) => Count("delete-lookup", inner.TryDeleteLookupAsync(key, version, cancellationToken));

        public Task<int> DeleteExpiredLookupsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) => Count("sweep-lookups", inner.DeleteExpiredLookupsAsync(now, limit, cancellationToken));

        public ValueTask DisposeAsync() => inner.DisposeAsync();

        private Task<T> Count<T>(string operation, Task<T> call)
        {
            counts.Add(operation);
            return call;
        }
    }
}
