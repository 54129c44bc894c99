using System.Net;
using Xunit.Abstractions;
using System.Text;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Tus.TusProtocol;

namespace StorageBridge.Protocol.Tests.Quotas;

/// <summary>Limits:MaxMetadataSize and Limits:MaxFileNameLength: refused with 400 before anything is stored.</summary>
public sealed class CreationSizeTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _root = new("sb-creationsize");

    public void Dispose() => _root.Dispose();

    private string Database => _root.Combine("meta.db");

    private Dictionary<string, string?> Settings(params (string Key, string Value)[] limits)
    {
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Path"] = Database,
            ["StorageBridge:Targets:default:Root"] = _root.Combine("files"),
        };
        foreach (var (key, value) in limits)
        {
            settings[$"StorageBridge:Targets:default:Limits:{key}"] = value;
        }

        return settings;
    }

    /// <summary>The case: 28 KB of Upload-Metadata (base64 of about 21 KB in three values).</summary>
    private static string BigMetadata(int seed) => string.Join(',', Enumerable.Range(0, 3).Select(i =>
        $"field{i} {Convert.ToBase64String(Encoding.UTF8.GetBytes(new string((char)('a' + ((seed + i) % 26)), 7_000)))}"));

    private long DatabaseBytes => new[] { Database, Database + "-wal", Database + "-shm" }.Where(File.Exists).Sum(f => new FileInfo(f).Length);

    [Fact]
    public async Task Three_thousand_creations_with_28KB_of_metadata_are_refused_and_the_database_does_not_grow()
    {
        await using var server = await LimitsServer.StartAsync(Settings());
        await server.Client.TusCreateAsync("default", 0); // the schema and WAL exist before the baseline
        var before = DatabaseBytes;
        Assert.InRange(BigMetadata(0).Length, 27_000, 29_000);

        var refused = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 3_000), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, cancellationToken) =>
        {
            using var response = await server.Client.SendAsync(Creation("default", 0, metadata: BigMetadata(i)), cancellationToken);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Interlocked.Increment(ref refused);
        });

        Assert.Equal(3_000, refused);
        var growth = DatabaseBytes - before;
        output.WriteLine($"3,000 refused creations: database {before} -> {DatabaseBytes} bytes");
        Assert.True(growth < 256 * 1024, $"the database grew by {growth} bytes");
    }

    [Fact]
    public async Task Without_the_limit_the_same_creations_grow_the_database()
    {
        // The control: the measure above can fail. 100 such creations accepted grow the file by more than 2 MB.
        await using var server = await LimitsServer.StartAsync(Settings(("MaxMetadataSize", "64KiB")));
        await server.Client.TusCreateAsync("default", 0);
        var before = DatabaseBytes;
        for (var i = 0; i < 100; i++)
        {
            await server.Client.TusCreateAsync("default", 0, metadata: BigMetadata(i));
        }

        output.WriteLine($"100 accepted creations with 28 KB of metadata: database {before} -> {DatabaseBytes} bytes");
        Assert.True(DatabaseBytes - before > 2_000_000, $"the database grew by only {DatabaseBytes - before} bytes");
    }

    [Fact]
    public async Task Metadata_past_the_limit_answers_400_in_each_protocol()
    {
        await using var server = await LimitsServer.StartAsync(Settings(("MaxMetadataSize", "100")));
        var fits = $"k {Base64(new string('x', 99))}"; // 1 + 99 bytes
        var over = $"k {Base64(new string('x', 100))}";
        await server.Client.TusCreateAsync("default", 1, metadata: fits);

        using (var tus = await server.Client.SendAsync(Creation("default", 1, metadata: over)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, tus.StatusCode);
            Assert.Equal("1.0.0", Header(tus, "Tus-Resumable"));
            Assert.Equal("text/plain", tus.Content.Headers.ContentType?.MediaType);
            Assert.Contains("MaxMetadataSize of 100", await tus.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var ietfRequest = IetfProtocol.Creation("default", 8, complete: false, content: null);
        ietfRequest.Headers.TryAddWithoutValidation("Upload-Metadata", over);
        using var ietf = await server.Client.SendAsync(ietfRequest);
        var problem = await IetfProtocol.AssertProblemAsync(ietf, HttpStatusCode.BadRequest);
        Assert.Equal("Metadata too large", problem.GetProperty("title").GetString());
        Assert.Null(ietf.Headers.Location);
    }

    [Fact]
    public async Task File_names_longer_than_255_utf8_bytes_answer_400_in_each_protocol()
    {
        await using var server = await LimitsServer.StartAsync(Settings());
        var longest = new string('é', 127) + "a"; // 255 bytes
        var tooLong = new string('é', 128);       // 256 bytes
        await server.Client.TusCreateAsync("default", 1, metadata: $"filename {Base64(longest)}");

        using (var tus = await server.Client.SendAsync(Creation("default", 1, metadata: $"filename {Base64(tooLong)}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, tus.StatusCode);
            Assert.Contains("MaxFileNameLength of 255", await tus.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var ietfRequest = IetfProtocol.Creation("default", 8, complete: false, content: []);
        Assert.True(ietfRequest.Content!.Headers.TryAddWithoutValidation("Content-Disposition", $"attachment; filename*=UTF-8''{Uri.EscapeDataString(tooLong)}"));
        using (var ietf = await server.Client.SendAsync(ietfRequest))
        {
            var problem = await IetfProtocol.AssertProblemAsync(ietf, HttpStatusCode.BadRequest);
            Assert.Equal("File name too long", problem.GetProperty("title").GetString());
        }

        var fields = ResumableChunks.Fields("resumable", "file-1", 1, 1024, 10, tooLong);
        using (var chunk = await server.Client.SendAsync(ResumableChunks.Chunk("/uploads/default", fields, new byte[10], ChunkMode.Octet)))
        {
            var problem = await IetfProtocol.AssertProblemAsync(chunk, HttpStatusCode.BadRequest);
            Assert.Equal("File name too long", problem.GetProperty("title").GetString());
        }

        var fitting = ResumableChunks.Fields("resumable", "file-2", 1, 1024, 10, longest);
        using (var chunk = await server.Client.SendAsync(ResumableChunks.Chunk("/uploads/default", fitting, new byte[10], ChunkMode.Multipart)))
        {
            Assert.Equal(HttpStatusCode.OK, chunk.StatusCode);
        }

    }
}
