using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests.Support;
using Xunit.Abstractions;

namespace StorageBridge.Protocol.Tests.Hostile;

/// <summary>
/// Issue 11 race test: 16 clients send mixed HEAD, PATCH, GET and (rarely) DELETE requests at one upload at once.
/// No answer may be 5xx; the offsets an upload reports never go backwards (an answer is compared with every answer
/// that had arrived before its request was sent); and the bytes stored are consistent: every client appends the
/// same deterministic stream at its offset, so the final object must equal that stream's prefix (sha-256). A DELETE
/// that succeeds ends the upload: every later request for it answers 404/410 and the clients move to a new one.
/// </summary>
[Collection(HostileServerCollection.Name)]
public sealed class RaceTests(HostileServerFixture server, ITestOutputHelper output)
{
    private const int Clients = 16;
    private const int OperationsPerClient = 2500;
    private static readonly byte[] Stream = TestData.Random(8 * 1024 * 1024, seed: 1116);

    [Fact]
    public async Task Sixteen_clients_racing_on_one_upload_get_no_5xx_offsets_never_go_back_and_bytes_stay_consistent()
    {
        var client = server.Client;
        var state = new RaceState(await client.CreateAsync("default", null));
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<string, int>();
        var clock = Stopwatch.StartNew();

        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var random = new Random(1116 + c);
            for (var i = 0; i < OperationsPerClient; i++)
            {
                var location = state.Current;
                var roll = random.Next(1000);
                var (kind, status) = roll switch
                {
                    < 1 => ("DELETE", await DeleteAsync(client, state, location)),
                    < 400 => ("PATCH", await PatchAsync(client, state, location, random, failures)),
                    < 800 => ("HEAD", await HeadAsync(client, state, location, failures)),
                    _ => ("GET", await GetAsync(client, location, random)),
                };
                statuses.AddOrUpdate($"{kind} {status}", 1, (_, n) => n + 1);
                if (status >= 500)
                {
                    failures.Enqueue($"{kind} {location}: {status}");
                }
            }
        })));

        output.WriteLine($"{Clients} x {OperationsPerClient} requests in {clock.Elapsed}; uploads: {state.Generations}");
        foreach (var (key, count) in statuses.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{key}: {count}");
        }

        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(20)));
        Assert.DoesNotContain(server.StorageBridgeErrors, e => e.Contains("answered 500", StringComparison.Ordinal));

        // Final bytes: complete the live upload where it stands; it holds exactly the stream's prefix.
        var current = state.Current;
        var offset = await client.OffsetAsync(current);
        using (var complete = await client.AppendAsync(current, offset, complete: true, []))
        {
            Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        }

        Assert.Equal(TestData.Sha256Hex(Stream.AsSpan(0, (int)offset)), TestData.Sha256Hex(await client.DownloadAsync(current)));
        foreach (var deleted in state.Deleted)
        {
            using var head = await client.HeadAsync(deleted);
            Assert.Contains(head.StatusCode, new[] { HttpStatusCode.NotFound, HttpStatusCode.Gone });
        }
    }

    private static async Task<int> PatchAsync(HttpClient client, RaceState state, string location, Random random, ConcurrentQueue<string> failures)
    {
        var offset = state.Known(location);
        if (offset >= Stream.Length)
        {
            return await HeadAsync(client, state, location, failures);
        }

        var length = (int)Math.Min(random.Next(1, 32 * 1024), Stream.Length - offset);
        var floor = state.Floor(location);
        using var response = await client.AppendAsync(location, offset, complete: false, Stream[(int)offset..(int)(offset + length)]);
        var status = (int)response.StatusCode;
        if (IetfProtocol.LongHeader(response, "Upload-Offset") is long reported)
        {
            state.Observe(location, floor, reported, $"PATCH {status}", failures);
            if (status == 204 && reported != offset + length)
            {
                failures.Enqueue($"PATCH 204 at {offset} +{length} reported {reported}: a 2xx must mean the whole body was stored");
            }
        }

        if (status is not (204 or 409 or 404 or 410))
        {
            failures.Enqueue($"PATCH at {offset}: unexpected {status}");
        }

        state.Moved(location, status);
        return status;
    }

    private static async Task<int> HeadAsync(HttpClient client, RaceState state, string location, ConcurrentQueue<string> failures)
    {
        var floor = state.Floor(location);
        using var response = await client.HeadAsync(location);
        var status = (int)response.StatusCode;
        if (status == 204)
        {
            state.Observe(location, floor, IetfProtocol.LongHeader(response, "Upload-Offset")!.Value, "HEAD", failures);
        }
        else if (status is not (404 or 410))
        {
            failures.Enqueue($"HEAD: unexpected {status}");
        }

        state.Moved(location, status);
        return status;
    }

    private static async Task<int> GetAsync(HttpClient client, string location, Random random)
    {
        using var request = IetfProtocol.Request(HttpMethod.Get, random.Next(2) == 0 ? location : location + "/content", 8);
        using var response = await client.SendAsync(request);
        return (int)response.StatusCode;
    }

    private static async Task<int> DeleteAsync(HttpClient client, RaceState state, string location)
    {
        using var response = await client.SendAsync(IetfProtocol.Request(HttpMethod.Delete, location, 8));
        var status = (int)response.StatusCode;
        if (status == 204)
        {
            state.Replace(location, await client.CreateAsync("default", null));
        }

        return status;
    }

    /// <summary>The upload the clients race on (replaced after a DELETE), the highest offset answered per upload, and what clients know.</summary>
    private sealed class RaceState(string first)
    {
        private readonly ConcurrentDictionary<string, long> _highest = new(StringComparer.Ordinal);
        private readonly ConcurrentBag<string> _deleted = [];
        private string _current = first;
        private int _generations = 1;

        public string Current => Volatile.Read(ref _current);

        public int Generations => Volatile.Read(ref _generations);

        public IEnumerable<string> Deleted => _deleted;

        /// <summary>The offset to append at: the highest one answered so far (others may have moved it on since).</summary>
        public long Known(string location) => _highest.GetValueOrDefault(location);

        /// <summary>The highest offset answered before a request is sent: its answer may not be lower.</summary>
        public long Floor(string location) => _highest.GetValueOrDefault(location);

        public void Observe(string location, long floor, long reported, string what, ConcurrentQueue<string> failures)
        {
            if (reported < floor)
            {
                failures.Enqueue($"{what} reported offset {reported} after {floor} had been answered: offsets went backwards");
            }

            _highest.AddOrUpdate(location, reported, (_, old) => Math.Max(old, reported));
        }

        /// <summary>A client that finds the upload gone (another one deleted it) moves on with the others.</summary>
        public void Moved(string location, int status)
        {
            if (status is 404 or 410 && location == Current)
            {
                SpinWait.SpinUntil(() => Current != location, TimeSpan.FromSeconds(10));
            }
        }

        public void Replace(string deleted, string next)
        {
            _deleted.Add(deleted);
            if (Interlocked.CompareExchange(ref _current, next, deleted) == deleted)
            {
                Interlocked.Increment(ref _generations);
            }
        }
    }
}
