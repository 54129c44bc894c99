using System.Security.Cryptography;
using Amazon.S3;
using StorageBridge.Tests;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// Resumable.js-style chunks (shuffled, three at a time, with duplicates) through a real Kestrel into S3 targets on
/// fauxqs: the object in the bucket must equal the source by sha-256, and its multipart ETag ("…-N") tells how the
/// chunks became parts — chunk for chunk when the chunk size is a valid part, re-cut by the ordered path otherwise.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class S3ResumableTests(S3Endpoint endpoint) : IAsyncLifetime
{
    private const int MiB = 1024 * 1024;
    private readonly AmazonS3Client inspector = endpoint.CreateClient();
    private readonly List<string> keys = [];

    [Theory]
    // 5 MiB chunks on the 8 MiB-part target: each chunk is its own part, the 7 MiB + 123 last chunk split in two.
    [InlineData("web", 5 * MiB, (17 * MiB) + 123, 4)]
    // 1 MiB chunks are below S3's minimum part: staged, replayed in order, cut into 5 MiB parts ("other": PartSize 5 MiB).
    [InlineData("other", MiB, (6 * MiB) + 5, 2)]
    public async Task Shuffled_parallel_chunks_land_in_the_bucket(string target, int chunkSize, int size, int expectedParts)
    {
        var server = await endpoint.ServerAsync();
        var file = new byte[size];
        new Random(size).NextBytes(file);

        var answer = await ResumableChunks.UploadAsync(server.Client, $"uploads/{target}", file, chunkSize,
            new ChunkUploadOptions { ShuffleSeed = 5, Duplicates = 2, Mode = target == "web" ? ChunkMode.Multipart : ChunkMode.Octet });

        var bucket = target == "other" ? server.OtherBucket : endpoint.Bucket;
        var key = endpoint.RunPrefix + target + "/" + answer.Id;
        keys.Add(bucket + "\n" + key);
        using (var stored = await inspector.GetObjectAsync(bucket, key))
        {
            Assert.Equal(size, stored.ContentLength);
            Assert.EndsWith($"-{expectedParts}\"", stored.ETag, StringComparison.Ordinal);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(file)), Convert.ToHexStringLower(await SHA256.HashDataAsync(stored.ResponseStream)));
        }

        var downloaded = await server.Client.GetByteArrayAsync(new Uri(answer.Location.TrimStart('/') + "/content", UriKind.Relative));
        Assert.Equal(SHA256.HashData(file), SHA256.HashData(downloaded));

        // No staged chunk is left under the staging prefix.
        var staging = await inspector.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = bucket, Prefix = endpoint.RunPrefix + target + "/.storagebridge-staging/" + answer.Id });
        Assert.Empty(staging.S3Objects ?? []);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var entry in keys)
        {
            var parts = entry.Split('\n');
            await inspector.DeleteObjectAsync(parts[0], parts[1]);
        }

        inspector.Dispose();
    }
}
