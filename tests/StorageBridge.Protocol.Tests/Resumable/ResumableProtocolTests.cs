using System.Net;
using System.Security.Cryptography;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests;
using StorageBridge.Uploads;
using static StorageBridge.Tests.ResumableChunks;

namespace StorageBridge.Protocol.Tests.Resumable;

/// <summary>
/// Resumable.js / Flow.js chunks on a real Kestrel (file target): test GETs, multipart and octet modes, both field
/// namespaces, out-of-order, parallel and duplicate chunks; the downloaded object must equal the source by sha-256.
/// </summary>
[Collection(IetfServerCollection.Name)]
public sealed class ResumableProtocolTests(IetfServerFixture server)
{
    private const string Url = IetfServerFixture.Prefix + "/default";

    private HttpClient Client => server.Client;

    [Fact]
    public async Task Test_GET_answers_204_until_the_chunk_is_stored_then_200()
    {
        var file = Data(4500, 1);
        var fields2 = Fields("resumable", "4500-test-get", 2, 1000, file.Length, "a.bin");
        using (var before = await Client.SendAsync(Test(Url, fields2)))
        {
            Assert.Equal(HttpStatusCode.NoContent, before.StatusCode);
            Assert.Equal("no-store", before.Headers.CacheControl?.ToString());
        }

        using (var post = await Client.SendAsync(Chunk(Url, fields2, file.AsMemory(1000, 1000), ChunkMode.Multipart)))
        {
            var answer = await AnswerAsync(post);
            Assert.False(answer.Complete);
            Assert.True(UploadIds.IsWellFormed(answer.Id));
            Assert.Equal($"{Url}/{answer.Id}", answer.Location);
        }

        using (var after = await Client.SendAsync(Test(Url, fields2)))
        {
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }

        foreach (var other in new[] { 1, 3, 4 })
        {
            using var response = await Client.SendAsync(Test(Url, Fields("resumable", "4500-test-get", other, 1000, file.Length, "a.bin")));
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        // A test of a file nobody started creates nothing.
        using var unknown = await Client.SendAsync(Test(Url, Fields("resumable", "never-sent", 1, 1000, 4500, "b.bin")));
        Assert.Equal(HttpStatusCode.NoContent, unknown.StatusCode);
    }

    [Theory]
    [InlineData(ChunkMode.Multipart, "resumable")]
    [InlineData(ChunkMode.Octet, "resumable")]
    [InlineData(ChunkMode.Multipart, "flow")]
    [InlineData(ChunkMode.Octet, "flow")]
    public async Task Chunks_in_order_complete_the_object(ChunkMode mode, string prefix)
    {
        var file = Data((3 * 65536) + 12345, 2);
        var answer = await UploadAsync(Client, Url, file, 65536, new ChunkUploadOptions { Mode = mode, Prefix = prefix, Parallel = 1 });
        Assert.True(answer.Complete);
        Assert.Equal(Sha(file), Sha(await Client.DownloadAsync(answer.Location)));
    }

    [Theory]
    [InlineData(ChunkMode.Multipart, false)]
    [InlineData(ChunkMode.Octet, false)]
    [InlineData(ChunkMode.Multipart, true)]
    public async Task Chunks_out_of_order_three_at_once_with_duplicates_assemble_in_order(ChunkMode mode, bool forceChunkSize)
    {
        var file = Data((40 * 50_000) + 31_337, 3);
        var answer = await UploadAsync(Client, Url, file, 50_000, new ChunkUploadOptions
        {
            Mode = mode,
            Prefix = forceChunkSize ? "flow" : "resumable",
            ForceChunkSize = forceChunkSize,
            ShuffleSeed = 42,
            Duplicates = 7,
            Parallel = 3,
        });
        Assert.Equal(Sha(file), Sha(await Client.DownloadAsync(answer.Location)));
        // Staged chunks were replayed and deleted: nothing of the upload is left in staging.
        var staging = Path.Combine(server.TargetRoot("default"), ".staging");
        Assert.Empty(Directory.Exists(staging) ? Directory.EnumerateFiles(staging, answer.Id + "*") : []);
    }

    [Fact]
    public async Task Reverse_order_single_stream_and_a_late_duplicate_of_the_last_chunk()
    {
        var file = Data(7 * 10_000, 4);
        var identifier = "70000-reverse";
        ChunkAnswer? last = null;
        for (var number = 7; number >= 1; number--)
        {
            var (start, end) = Range(number, file.Length, 10_000, 7);
            using var response = await Client.SendAsync(Chunk(Url, Fields("resumable", identifier, number, 10_000, file.Length, "r.bin"), file.AsMemory((int)start, (int)(end - start)), ChunkMode.Octet));
            last = await AnswerAsync(response);
            Assert.Equal(number == 1, last.Complete);
        }

        Assert.Equal(Sha(file), Sha(await Client.DownloadAsync(last!.Location)));

        // The browser retries the last chunk after completion (its first answer got lost): same upload, still complete.
        using var again = await Client.SendAsync(Chunk(Url, Fields("resumable", identifier, 7, 10_000, file.Length, "r.bin"), file.AsMemory(60_000), ChunkMode.Multipart));
        var repeated = await AnswerAsync(again);
        Assert.Equal(last.Id, repeated.Id);
        Assert.True(repeated.Complete);
        using var test = await Client.SendAsync(Test(Url, Fields("resumable", identifier, 3, 10_000, file.Length, "r.bin")));
        Assert.Equal(HttpStatusCode.OK, test.StatusCode);
        Assert.Equal(Sha(file), Sha(await Client.DownloadAsync(last.Location)));
    }

    [Fact]
    public async Task Empty_file_is_one_empty_chunk()
    {
        var answer = await UploadAsync(Client, Url, [], 1024 * 1024);
        Assert.True(answer.Complete);
        Assert.Empty(await Client.DownloadAsync(answer.Location));
    }

    [Fact]
    public async Task Same_identifier_with_a_different_size_or_name_is_a_different_upload()
    {
        var a = await SendOneAsync("shared-id", 1000, "x.bin");
        var b = await SendOneAsync("shared-id", 1001, "x.bin");
        var c = await SendOneAsync("shared-id", 1000, "y.bin");
        var again = await SendOneAsync("shared-id", 1000, "x.bin");
        Assert.Equal(3, new[] { a.Id, b.Id, c.Id }.Distinct().Count());
        Assert.Equal(a.Id, again.Id);
    }

    [Fact]
    public async Task File_type_and_name_become_the_object_content_type()
    {
        var file = Data(3000, 5);
        var answer = await UploadAsync(Client, Url, file, 1000, new ChunkUploadOptions { Type = "image/png", FileName = "photo.png" });
        using var response = await Client.GetAsync(answer.Location + "/content");
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Sha(file), Sha(await response.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task IETF_append_to_a_chunk_upload_is_refused()
    {
        var first = await SendOneAsync("ietf-mix", 3000, "m.bin");
        using var append = await Client.AppendAsync(first.Location, 0, false, new byte[10]);
        Assert.Equal(HttpStatusCode.Conflict, append.StatusCode);
    }

    private async Task<ChunkAnswer> SendOneAsync(string identifier, int total, string name)
    {
        var file = Data(total, total);
        var (_, end) = Range(1, total, 1000, ChunkCount(total, 1000));
        using var response = await Client.SendAsync(Chunk(Url, Fields("resumable", identifier, 1, 1000, total, name), file.AsMemory(0, (int)end), ChunkMode.Octet));
        return await AnswerAsync(response);
    }

    private static byte[] Data(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
