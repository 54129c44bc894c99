using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.Postgres.Tests;

/// <summary>
/// StorageBridge.Host processes on PostgreSQL metadata: two instances sharing one database and one folder take turns
/// appending to one upload; and a host whose database goes away answers 503 and carries on once it is back.
/// </summary>
public sealed class TwoHostsSharingPostgresTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));
    private readonly string _shared = Path.Combine(Path.GetTempPath(), "sb-two-hosts-pg-" + Guid.NewGuid().ToString("N"));
    private readonly List<HostProcess> _hosts = [];
    private readonly List<HttpClient> _clients = [];
    private PostgresServer _server = null!;

    private CancellationToken Ct => _timeout.Token;

    private string SharedRoot => Path.Combine(_shared, "files");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(SharedRoot);
        _server = await PostgresServer.StartNewAsync(Ct);
        await _server.CreateDatabaseAsync("bridge", Ct);
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_shared, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        _timeout.Dispose();
    }

    [Fact]
    public async Task Two_hosts_take_alternate_appends_of_one_upload_and_the_object_is_byte_exact()
    {
        // Started at once on an empty database: both migrate under the advisory lock, one of them finds the work done.
        var starting = new[] { "A", "B" }.Select(name => StartHostAsync(name)).ToArray();
        var hosts = await Task.WhenAll(starting);
        var (a, b) = (hosts[0], hosts[1]);
        Assert.Equal("2", await _server.PsqlAsync("bridge", "SELECT count(*) FROM storagebridge.schema_version", Ct));

        const int Appends = 8;
        const int Chunk = 64 * 1024 + 123;
        var source = RandomNumberGenerator.GetBytes(Appends * Chunk);

        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent([]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", source.Length.ToString(CultureInfo.InvariantCulture));
        using var created = await a.SendAsync(create, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var path = created.Headers.Location!.OriginalString;
        var id = path[(path.LastIndexOf('/') + 1)..];

        for (var i = 0; i < Appends; i++)
        {
            // Odd appends go to B, even ones to A; each first asks the other instance for the offset.
            var (writer, other) = i % 2 == 0 ? (a, b) : (b, a);
            var offset = i * Chunk;
            Assert.Equal(offset, await HeadOffsetAsync(other, path));
            var last = i == Appends - 1;
            using var response = await writer.SendAsync(Append(path, offset, source[offset..(offset + Chunk)], last), Ct);
            Assert.Equal(last ? HttpStatusCode.OK : HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal((offset + Chunk).ToString(CultureInfo.InvariantCulture), response.Headers.GetValues("Upload-Offset").Single());
        }

        var expected = SHA256.HashData(source);
        Assert.Equal(expected, SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(SharedRoot, id), Ct)));
        Assert.Equal(expected, SHA256.HashData(await a.GetByteArrayAsync(path + "/content", Ct)));
        Assert.Equal(expected, SHA256.HashData(await b.GetByteArrayAsync(path + "/content", Ct)));

        // One upload row, completed, in the shared database.
        Assert.Equal("Completed", await _server.PsqlAsync("bridge", $"SELECT state FROM storagebridge.uploads WHERE id = '{id}'", Ct));
        output.WriteLine($"record version after {Appends} appends over two hosts: {await _server.PsqlAsync("bridge", $"SELECT version FROM storagebridge.uploads WHERE id = '{id}'", Ct)}");
    }

    [Fact]
    public async Task A_host_whose_database_goes_away_answers_503_and_resumes_once_it_is_back()
    {
        var host = await StartHostAsync("A");
        var source = RandomNumberGenerator.GetBytes(200_000);
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent(source[..100_000]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", source.Length.ToString(CultureInfo.InvariantCulture));
        using var created = await host.SendAsync(create, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var path = created.Headers.Location!.OriginalString;
        var id = path[(path.LastIndexOf('/') + 1)..];

        await _server.CrashAsync(Ct);
        using (var head = new HttpRequestMessage(HttpMethod.Head, path))
        {
            head.Headers.Add("Upload-Draft-Interop-Version", "8");
            using var response = await host.SendAsync(head, Ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        }

        using (var response = await host.SendAsync(Append(path, 100_000, source[100_000..], last: true), Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        await _server.StartAsync(Ct);
        var offset = await HeadOffsetAsync(host, path);
        Assert.Equal(100_000, offset);
        using (var response = await host.SendAsync(Append(path, offset, source[(int)offset..], last: true), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(SHA256.HashData(source), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(SharedRoot, id), Ct)));
    }

    [Fact]
    public async Task Appends_racing_at_the_same_offset_on_both_hosts_never_corrupt_the_upload()
    {
        var hosts = await Task.WhenAll(StartHostAsync("A"), StartHostAsync("B"));
        const int Chunk = 16 * 1024;
        const int Rounds = 6;
        const int Length = Chunk * Rounds;
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent([]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", Length.ToString(CultureInfo.InvariantCulture));
        using var created = await hosts[0].SendAsync(create, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var path = created.Headers.Location!.OriginalString;
        var id = path[(path.LastIndexOf('/') + 1)..];

        // Each host gets its own bytes (A: 0xA?, B: 0xB?), so the object shows whose append was kept where.
        static byte[] Bytes(byte tag, long offset, int count) => [.. Enumerable.Range(0, count).Select(i => (byte)(tag | (int)((offset + i) % 16)))];
        var expected = new byte[Length];
        var accepted = new List<string>();
        long offset = 0;
        while (offset < Length)
        {
            var size = (int)Math.Min(Chunk, Length - offset);
            var last = offset + size == Length;
            var bodies = new[] { Bytes(0xA0, offset, size), Bytes(0xB0, offset, size) };
            var round = (int)(offset / Chunk);
            var at = offset;
            var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => Task.Run(async () =>
            {
                // The second request starts while the first is still sending; who goes first alternates.
                await Task.Delay(i == round % 2 ? 0 : 50, Ct);
                using var request = Append(path, at, new SlowContent(bodies[i]), last);
                using var response = await hosts[i].SendAsync(request, Ct);
                var stored = response.Headers.TryGetValues("Upload-Offset", out var values) ? long.Parse(values.Single(), CultureInfo.InvariantCulture) : -1;
                return (Who: i == 0 ? "A" : "B", response.StatusCode, Offset: stored);
            })));
            output.WriteLine($"round at {offset}: {string.Join(", ", results)}");

            // A losing append answers 2xx for what it stored (possibly nothing) or 409: at most one stores bytes here.
            var storing = 0;
            foreach (var (who, status, stored) in results)
            {
                if (status is HttpStatusCode.NoContent or HttpStatusCode.OK)
                {
                    Assert.True(stored >= offset, $"{who} at {offset} answered offset {stored}");
                    if (stored > offset)
                    {
                        storing++;
                        Array.Copy(bodies[who == "A" ? 0 : 1], 0, expected, offset, stored - offset);
                        accepted.Add($"{who}@{offset}+{stored - offset}");
                    }
                }
                else
                {
                    Assert.Equal(HttpStatusCode.Conflict, status);
                }
            }

            Assert.True(storing <= 1, $"round at {offset}: {string.Join(", ", results)}");
            var next = await HeadOffsetAsync(hosts[1], path);
            Assert.True(next >= offset, $"offset went back from {offset} to {next}");
            Assert.Equal(next, await HeadOffsetAsync(hosts[0], path));
            offset = next;
        }

        output.WriteLine($"accepted: {string.Join(" ", accepted)}");
        var hash = SHA256.HashData(expected);
        Assert.Equal(hash, SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(SharedRoot, id), Ct)));
        Assert.Equal(hash, SHA256.HashData(await hosts[1].GetByteArrayAsync(path + "/content", Ct)));
    }

    private async Task<HttpClient> StartHostAsync(string name)
    {
        var environment = new Dictionary<string, string?>
        {
            ["StorageBridge__Metadata__Provider"] = "Postgres",
            ["StorageBridge__Metadata__ConnectionString"] = _server.ConnectionString("bridge"),
            ["StorageBridge__Targets__default__Root"] = SharedRoot,
            ["StorageBridge__LeaseDuration"] = "2s",
        };
        var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, OutputSink = Log(name) }, Ct);
        lock (_hosts)
        {
            _hosts.Add(host);
        }

        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    private async Task<long> HeadOffsetAsync(HttpClient client, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, path);
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        return long.Parse(response.Headers.GetValues("Upload-Offset").Single(), NumberStyles.None, CultureInfo.InvariantCulture);
    }

    private static HttpRequestMessage Append(string path, long offset, byte[] body, bool last) =>
        Append(path, offset, new ByteArrayContent(body), last);

    private static HttpRequestMessage Append(string path, long offset, HttpContent content, bool last)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, path) { Content = content };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", last ? "?1" : "?0");
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        return request;
    }

    private Action<string> Log(string name) => line =>
    {
        try
        {
            output.WriteLine($"[{name}] {line}");
        }
        catch (InvalidOperationException)
        {
            // The test already finished.
        }
    };

    /// <summary>Sends the first half of the body, pauses, then the rest (with a Content-Length), like a slow client.</summary>
    private sealed class SlowContent(byte[] body) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(body.AsMemory(0, body.Length / 2), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await Task.Delay(150, cancellationToken);
            await stream.WriteAsync(body.AsMemory(body.Length / 2), cancellationToken);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
