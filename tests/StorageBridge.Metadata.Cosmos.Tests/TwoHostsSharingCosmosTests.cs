using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.Cosmos.Tests;

/// <summary>
/// Two StorageBridge.Host processes sharing one Cosmos DB store and one storage target: an upload moves between them,
/// and racing appends never corrupt it. Subclasses choose the target (a shared folder, an Azure container).
/// </summary>
public abstract class TwoHostsSharingCosmosTestsBase(CosmosEmulatorFixture emulator, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private readonly string _shared = Path.Combine(Path.GetTempPath(), "sb-two-hosts-" + Guid.NewGuid().ToString("N"));
    private HostProcess _a = null!;
    private HostProcess _b = null!;
    private HttpClient _clientA = null!;
    private HttpClient _clientB = null!;

    private CancellationToken Ct => _timeout.Token;

    protected string SharedRoot => Path.Combine(_shared, "files");

    /// <summary>Configuration of the <c>default</c> target both instances use.</summary>
    protected abstract IReadOnlyDictionary<string, string?> TargetEnvironment { get; }

    /// <summary>The committed object's bytes, read from the storage itself (not through the bridge).</summary>
    protected abstract Task<byte[]> ReadStoredObjectAsync(string id, CancellationToken cancellationToken);

    public async Task InitializeAsync()
    {
        var environment = new Dictionary<string, string?>
        {
            ["StorageBridge__Metadata__Provider"] = "Cosmos",
            ["StorageBridge__Metadata__Endpoint"] = emulator.Endpoint.AbsoluteUri,
            ["StorageBridge__Metadata__Key"] = emulator.Key,
            ["StorageBridge__Metadata__ConnectionMode"] = "Gateway",
            ["StorageBridge__Metadata__AcceptAnyServerCertificate"] = emulator.AcceptAnyServerCertificate ? "true" : "false",
            ["StorageBridge__Metadata__Database"] = "sb-hosts",
            ["StorageBridge__Metadata__Container"] = "c" + Guid.NewGuid().ToString("N"),
            ["StorageBridge__LeaseDuration"] = "2s", // a silent lease holder is waited for at most this long
        };
        foreach (var (key, value) in TargetEnvironment)
        {
            environment[key] = value;
        }

        // Started one after the other: both create the container if missing; the second finds it.
        _a = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, OutputSink = Log("A") }, Ct);
        _b = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, OutputSink = Log("B") }, Ct);
        _clientA = CreateClient(_a);
        _clientB = CreateClient(_b);
    }

    public async Task DisposeAsync()
    {
        _clientA?.Dispose();
        _clientB?.Dispose();
        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (_b is not null)
        {
            await _b.DisposeAsync();
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
    public async Task Upload_started_on_one_instance_is_resumed_and_completed_on_the_other()
    {
        var source = RandomNumberGenerator.GetBytes(300_000);

        // A: create, announcing the length, with the first 100,000 bytes.
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent(source[..100_000]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", source.Length.ToString(CultureInfo.InvariantCulture));
        using var created = await _clientA.SendAsync(create, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var path = created.Headers.Location!.OriginalString;
        var id = path[(path.LastIndexOf('/') + 1)..];

        // B knows the upload and its offset only through the shared Cosmos store.
        Assert.Equal(100_000, await HeadOffsetAsync(_clientB, path));

        using (var response = await _clientB.SendAsync(Append(path, 100_000, source[100_000..200_000], last: false), Ct))
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        Assert.Equal(200_000, await HeadOffsetAsync(_clientA, path));
        using (var response = await _clientB.SendAsync(Append(path, 200_000, source[200_000..], last: true), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("?1", Assert.Single(response.Headers.GetValues("Upload-Complete")));
        }

        var expected = SHA256.HashData(source);
        Assert.Equal(expected, SHA256.HashData(await ReadStoredObjectAsync(id, Ct)));
        Assert.Equal(expected, SHA256.HashData(await _clientA.GetByteArrayAsync(path + "/content", Ct)));
        Assert.Equal(expected, SHA256.HashData(await _clientB.GetByteArrayAsync(path + "/content", Ct)));
    }

    [Fact]
    public async Task Concurrent_appends_at_the_same_offset_from_both_instances_never_corrupt_the_upload()
    {
        const int Chunk = 16 * 1024;
        const int Rounds = 6;
        const int Length = Chunk * Rounds;

        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent([]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", Length.ToString(CultureInfo.InvariantCulture));
        using var created = await _clientA.SendAsync(create, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var path = created.Headers.Location!.OriginalString;
        var id = path[(path.LastIndexOf('/') + 1)..];

        // Each instance sends its own bytes (A: 0xA?, B: 0xB?), so the final object shows whose append was kept where.
        static byte[] Bytes(byte tag, long offset, int count) =>
            [.. Enumerable.Range(0, count).Select(i => (byte)(tag | (int)((offset + i) % 16)))];

        // Offsets observed through both instances after every round: they must never go backwards. (No HEAD runs
        // during a round: a HEAD ends an append in flight on its instance by design, which would starve the race.)
        var observed = new List<long>();

        var expected = new byte[Length];
        var accepted = new List<string>();
        long offset = 0;
        while (offset < Length)
        {
            var size = (int)Math.Min(Chunk, Length - offset);
            var last = offset + size == Length;
            var bodies = new[] { Bytes(0xA0, offset, size), Bytes(0xB0, offset, size) };
            // Slow bodies, and the second request starts while the first is still sending, so they really overlap;
            // which instance goes first alternates between rounds.
            var round = (int)(offset / Chunk);
            var requests = new[] { (_clientA, "A"), (_clientB, "B") }
                .Select((c, i) => Task.Run(async () =>
                {
                    await Task.Delay(i == round % 2 ? 0 : 50, Ct);
                    return await SendAsync(c.Item1, c.Item2, Append(path, offset, new SlowContent(bodies[i]), last));
                }))
                .ToArray();
            var roundWatch = System.Diagnostics.Stopwatch.StartNew();
            var results = await Task.WhenAll(requests);
            output.WriteLine($"round at {offset}: {string.Join(", ", results)} in {roundWatch.ElapsedMilliseconds} ms");

            // An append that loses its lease to the other instance answers 2xx for the prefix it stored (possibly
            // nothing) or 409 once the offset has moved. So per round at most one request may have stored bytes at this
            // offset: two would mean one overwrote the other.
            var storing = 0;
            foreach (var (who, status, newOffset) in results)
            {
                if (status is HttpStatusCode.NoContent or HttpStatusCode.OK)
                {
                    Assert.True(newOffset >= offset, $"{who} at {offset} answered offset {newOffset}");
                    if (newOffset > offset)
                    {
                        storing++;
                        Array.Copy(who == "A" ? bodies[0] : bodies[1], 0, expected, offset, newOffset - offset);
                        accepted.Add($"{who}@{offset}+{newOffset - offset}");
                    }
                }
                else
                {
                    Assert.True(status == HttpStatusCode.Conflict, $"{who} at {offset}: {(int)status}");
                }
            }

            Assert.True(storing <= 1, $"round at {offset}: {string.Join(", ", results)}");
            var next = await HeadOffsetAsync(_clientB, path);
            observed.Add(next);
            observed.Add(await HeadOffsetAsync(_clientA, path));
            Assert.Equal(results.Where(r => r.Status is HttpStatusCode.NoContent or HttpStatusCode.OK).Select(r => r.Offset).Append(offset).Max(), next);
            offset = next;
        }

        output.WriteLine($"accepted: {string.Join(" ", accepted)}");

        for (var i = 1; i < observed.Count; i++)
        {
            Assert.True(observed[i] >= observed[i - 1], $"offset went back from {observed[i - 1]} to {observed[i]}");
        }

        Assert.Contains(accepted, a => a.StartsWith('A'));
        Assert.Contains(accepted, a => a.StartsWith('B'));
        var hash = SHA256.HashData(expected);
        Assert.Equal(hash, SHA256.HashData(await ReadStoredObjectAsync(id, Ct)));
        Assert.Equal(hash, SHA256.HashData(await _clientB.GetByteArrayAsync(path + "/content", Ct)));
    }

    private async Task<(string Who, HttpStatusCode Status, long Offset)> SendAsync(HttpClient client, string who, HttpRequestMessage request)
    {
        using (request)
        using (var response = await client.SendAsync(request, Ct))
        {
            var offset = response.Headers.TryGetValues("Upload-Offset", out var values)
                ? long.Parse(values.Single(), NumberStyles.None, CultureInfo.InvariantCulture)
                : -1;
            return (who, response.StatusCode, offset);
        }
    }

    private async Task<long> HeadOffsetAsync(HttpClient client, string path, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, path);
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await client.SendAsync(request, cancellationToken == default ? Ct : cancellationToken);
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

    private static HttpClient CreateClient(HostProcess host) =>
        new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

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
}

/// <summary>The file backend on one shared folder stands in for shared cloud storage.</summary>
[Collection(CosmosCollection.Name)]
public sealed class TwoHostsSharingCosmosTests(CosmosEmulatorFixture emulator, ITestOutputHelper output)
    : TwoHostsSharingCosmosTestsBase(emulator, output)
{
    protected override IReadOnlyDictionary<string, string?> TargetEnvironment => new Dictionary<string, string?>
    {
        ["StorageBridge__Targets__default__Root"] = SharedRoot,
    };

    protected override Task<byte[]> ReadStoredObjectAsync(string id, CancellationToken cancellationToken) =>
        File.ReadAllBytesAsync(Path.Combine(SharedRoot, id), cancellationToken);
}
