using System.Net;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Tus.TusProtocol;

namespace StorageBridge.Protocol.Tests.Quotas;

/// <summary>Limits:MaxOpenUploads per principal, held by two instances sharing one SQLite store.</summary>
public sealed class OpenUploadTests : IDisposable
{
    private readonly TempDirectory _root = new("sb-openuploads");

    public void Dispose() => _root.Dispose();

    private Dictionary<string, string?> Settings(int maxOpen) => new()
    {
        ["StorageBridge:Metadata:Path"] = _root.Combine("shared.db"),
        ["StorageBridge:Targets:default:Root"] = _root.Combine("files"),
        ["StorageBridge:Targets:default:Limits:MaxOpenUploads"] = maxOpen.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private int StagedUploads => Directory.Exists(_root.Combine("files", ".staging")) ? Directory.GetFileSystemEntries(_root.Combine("files", ".staging")).Length : 0;

    [Fact]
    public async Task Open_uploads_past_the_cap_answer_429_across_instances_until_one_completes_or_is_cancelled()
    {
        await using var a = await LimitsServer.StartAsync(Settings(3));
        await using var b = await LimitsServer.StartAsync(Settings(3));
        var first = await CreateAsync(a, "alice", HttpStatusCode.Created);
        var second = await CreateAsync(a, "alice", HttpStatusCode.Created);
        var third = await CreateAsync(b, "alice", HttpStatusCode.Created);

        using (var refused = await a.Client.SendAsync(Creation("default", 3).As("alice")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("1.0.0", Header(refused, "Tus-Resumable"));
            Assert.Null(refused.Headers.Location);
            Assert.Contains("MaxOpenUploads", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var refused = await b.Client.SendAsync(IetfProtocol.Creation("default", 8, complete: false, content: null).As("alice")))
        {
            var problem = await IetfProtocol.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests);
            Assert.Equal("Too many open uploads", problem.GetProperty("title").GetString());
            Assert.Null(refused.Headers.Location);
        }

        // Others have slots of their own.
        await CreateAsync(b, "bob", HttpStatusCode.Created);

        // Completing one (on the other instance) frees its slot ...
        using (var patch = await b.Client.SendAsync(Patch(first!, 0, [1, 2, 3]).As("alice")))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        var fourth = await CreateAsync(a, "alice", HttpStatusCode.Created);
        await CreateAsync(b, "alice", HttpStatusCode.TooManyRequests);

        // ... and so does cancelling one.
        using (var delete = await a.Client.SendAsync(Request(HttpMethod.Delete, second!).As("alice")))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        await CreateAsync(b, "alice", HttpStatusCode.Created);
        await CreateAsync(a, "alice", HttpStatusCode.TooManyRequests);
        Assert.NotNull(third);
        Assert.NotNull(fourth);
    }

    [Fact]
    public async Task Concurrent_creations_on_two_instances_get_exactly_the_cap()
    {
        await using var a = await LimitsServer.StartAsync(Settings(3));
        await using var b = await LimitsServer.StartAsync(Settings(3));
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
        {
            using var response = await (i % 2 == 0 ? a : b).Client.SendAsync(Creation("default", 3).As("carol"));
            return response.StatusCode;
        }));

        Assert.Equal(3, answers.Count(s => s == HttpStatusCode.Created));
        Assert.Equal(9, answers.Count(s => s == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task Anonymous_clients_count_against_their_address()
    {
        await using var a = await LimitsServer.StartAsync(Settings(1));
        await CreateAsync(a, null, HttpStatusCode.Created);
        await CreateAsync(a, null, HttpStatusCode.TooManyRequests);
        await CreateAsync(a, "dave", HttpStatusCode.Created);
    }

    [Fact]
    public async Task Resumable_chunk_uploads_count_against_the_same_principal_and_a_refused_file_can_start_later()
    {
        await using var a = await LimitsServer.StartAsync(Settings(1));
        var open = await CreateAsync(a, "erin", HttpStatusCode.Created);
        var fields = ResumableChunks.Fields("resumable", "file-1", 1, 1024, 10, "a.bin");
        using (var refused = await a.Client.SendAsync(ResumableChunks.Chunk("/uploads/default", fields, new byte[10], ChunkMode.Octet).As("erin")))
        {
            var problem = await IetfProtocol.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests);
            Assert.Equal("Too many open uploads", problem.GetProperty("title").GetString());
        }

        using (var delete = await a.Client.SendAsync(Request(HttpMethod.Delete, open!).As("erin")))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        // The refused file's lookup was dropped: its chunk creates the upload at once now.
        using var accepted = await a.Client.SendAsync(ResumableChunks.Chunk("/uploads/default", fields, new byte[10], ChunkMode.Octet).As("erin"));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    private static async Task<string?> CreateAsync(LimitsServer server, string? user, HttpStatusCode expected)
    {
        using var response = await server.Client.SendAsync(Creation("default", 3).As(user));
        Assert.Equal(expected, response.StatusCode);
        return response.StatusCode == HttpStatusCode.Created ? IetfProtocol.Location(response) : null;
    }
}
