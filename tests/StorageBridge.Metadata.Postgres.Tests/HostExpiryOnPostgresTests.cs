using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.Postgres.Tests;

/// <summary>The Host's cleanup service finds expiring uploads through the PostgreSQL store's expiry query.</summary>
[Collection(PostgresCollection.Name)]
public sealed class HostExpiryOnPostgresTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task An_abandoned_upload_is_expired_by_the_cleanup_service_its_bytes_dropped_and_its_tombstone_kept()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var ct = timeout.Token;
        var schema = PostgresFixture.NewSchema();
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string?>
            {
                ["StorageBridge__Metadata__Provider"] = "Postgres",
                ["StorageBridge__Metadata__ConnectionString"] = postgres.ConnectionString,
                ["StorageBridge__Metadata__Schema"] = schema,
                ["StorageBridge__Targets__default__Expiration"] = "2s",
                ["StorageBridge__CleanupInterval"] = "1s",
            },
            OutputSink = line => output.WriteLine(line),
        }, ct);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress };

        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent(new byte[1000]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", "5000");
        using var created = await client.SendAsync(create, ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var path = created.Headers.Location!.OriginalString;
        var id = path[(path.LastIndexOf('/') + 1)..];

        // The row carries the expiry the query filters on.
        Task<string> RowAsync() => postgres.Server.PsqlAsync(PostgresFixture.Database, $"SELECT state || '|' || (expires_at_ticks IS NOT NULL) FROM {schema}.uploads WHERE id = '{id}'", ct);
        Assert.Equal("Open|true", await RowAsync());

        // Within a few cleanup passes after the expiry the record becomes an Expired tombstone and the staged bytes go
        // (the tombstone is written first, so wait for both).
        var staging = Path.Combine(host.TargetRoot, ".staging");
        string[] Staged() => Directory.Exists(staging) ? Directory.GetFiles(staging, id + "*") : [];
        Assert.NotEmpty(Staged());
        var row = "";
        for (var i = 0; i < 100 && (!row.StartsWith("Expired|", StringComparison.Ordinal) || Staged().Length > 0); i++)
        {
            await Task.Delay(200, ct);
            row = await RowAsync();
        }

        Assert.StartsWith("Expired|", row, StringComparison.Ordinal);
        Assert.Empty(Staged());
        using var head = new HttpRequestMessage(HttpMethod.Head, path);
        head.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var gone = await client.SendAsync(head, ct);
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);

        using var append = new HttpRequestMessage(HttpMethod.Patch, path) { Content = new ByteArrayContent(new byte[10]) };
        append.Headers.Add("Upload-Draft-Interop-Version", "8");
        append.Headers.Add("Upload-Offset", 1000.ToString(CultureInfo.InvariantCulture));
        append.Headers.Add("Upload-Complete", "?0");
        append.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        using var refused = await client.SendAsync(append, ct);
        Assert.Equal(HttpStatusCode.Gone, refused.StatusCode);
    }
}
