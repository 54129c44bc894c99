using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using StorageBridge.Tests;

namespace StorageBridge.Backends.AzureBlob.Tests;

/// <summary>
/// tus concatenation on the Azure target (Azurite): the final upload's blob is the partial uploads' committed blobs
/// re-staged range by range as blocks of the final blob and committed with one Put Block List. Driven by
/// tus-js-client <c>parallelUploads</c> in tus-v1 mode and by raw tus requests; sha-256 of the final blob equals the
/// source, and the partial blobs stay in place.
/// </summary>
public sealed partial class AzureProtocolTests
{
    [Fact]
    public async Task Options_lists_concatenation_for_the_Azure_target()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "uploads/azure");
        using var response = await Client.SendAsync(request);
        Assert.Contains("concatenation", response.Headers.GetValues("Tus-Extension").Single().Split(','));
    }

    [Fact(Timeout = 180_000)]
    public async Task Tus_js_client_parallel_uploads_are_joined_into_one_blob_with_the_source_sha256()
    {
        const long size = (13 * MiB) + 7; // three partials of about 4.3 MiB
        var path = Path.Combine(files, "parallel.bin");
        var sha = await DeterministicData.WriteFileAsync(path, 0xC0CA7, size, CancellationToken.None);

        var (url, uploaded) = await RunTusJsClientAsync(path, "tus-v1", "none", "--input", "buffer", "--parallel-uploads", "3");
        Assert.Equal(size, uploaded);
        using (var head = await Client.SendAsync(TusRequest(HttpMethod.Head, url)))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(size.ToString(CultureInfo.InvariantCulture), head.Headers.GetValues("Upload-Offset").Single());
            var partials = head.Headers.GetValues("Upload-Concat").Single();
            Assert.StartsWith("final;", partials, StringComparison.Ordinal);
            Assert.Equal(3, partials["final;".Length..].Split(' ').Length);
        }

        var key = KeyPrefix + url.Split('/')[^1];
        Assert.Equal(sha, await BlobSha256Async(key));
        Assert.Equal(size, (await CommittedBlocksAsync(key)).Sum());
    }

    [Fact]
    public async Task Raw_tus_partials_of_odd_sizes_are_joined_in_the_order_the_final_upload_names_them()
    {
        // The backend's 8 MiB blocks: the first partial is cut into 8 MiB + 1 MiB + 5; the empty one adds no block.
        var parts = new[] { Bytes((9 * MiB) + 5, 1), Bytes(0, 2), Bytes(1, 3), Bytes(3 * MiB, 4) };
        var locations = new List<string>();
        foreach (var part in parts)
        {
            locations.Add(await CreatePartialAsync(part));
        }

        // Named out of creation order, once with an absolute URL.
        var order = new[] { 3, 0, 1, 2 };
        var concat = "final;" + string.Join(' ', order.Select((n, i) => i == 0 ? new Uri(baseAddress, locations[n]).ToString() : locations[n]));
        using var final = TusRequest(HttpMethod.Post, "uploads/azure");
        final.Headers.TryAddWithoutValidation("Upload-Concat", concat);
        final.Headers.TryAddWithoutValidation("Upload-Metadata", "filename " + Convert.ToBase64String(Encoding.UTF8.GetBytes("joined.bin")) + ",filetype " + Convert.ToBase64String(Encoding.UTF8.GetBytes("video/mp4")));
        using var created = await Client.SendAsync(final);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = created.Headers.Location!.ToString();

        byte[] expected = [.. order.SelectMany(n => parts[n])];
        using (var head = await Client.SendAsync(TusRequest(HttpMethod.Head, location)))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(expected.Length.ToString(CultureInfo.InvariantCulture), head.Headers.GetValues("Upload-Offset").Single());
            Assert.Equal(expected.Length.ToString(CultureInfo.InvariantCulture), head.Headers.GetValues("Upload-Length").Single());
            Assert.Equal(concat, head.Headers.GetValues("Upload-Concat").Single());
        }

        var key = KeyPrefix + location.Split('/')[^1];
        Assert.Equal(Sha(expected), await BlobSha256Async(key));
        Assert.Equal([3 * MiB, 8 * MiB, MiB + 5, 1], await CommittedBlocksAsync(key));
        var properties = (await azurite.CreateContainer().GetBlobClient(key).GetPropertiesAsync()).Value;
        Assert.Equal("video/mp4", properties.ContentType);
        Assert.Equal("joined.bin", properties.Metadata["filename"]);

        // The final upload takes no data; the partial blobs stay as they were (as on the file target).
        using (var patch = TusRequest(HttpMethod.Patch, location))
        {
            patch.Headers.TryAddWithoutValidation("Upload-Offset", expected.Length.ToString(CultureInfo.InvariantCulture));
            patch.Content = new ByteArrayContent([1]);
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
            using var refused = await Client.SendAsync(patch);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        for (var i = 0; i < parts.Length; i++)
        {
            Assert.Equal(Sha(parts[i]), await BlobSha256Async(KeyPrefix + locations[i].Split('/')[^1]));
        }

        Assert.Equal(Sha(expected), await BlobSha256Async(key));
    }

    [Fact]
    public void Concatenation_blocks_grow_so_that_50000_cover_the_sources()
    {
        const long block = 8 * MiB;
        Assert.Equal(block, AzureBlobBackend.ConcatenationBlockSize([50_000 * block], block));
        Assert.Equal(2 * block, AzureBlobBackend.ConcatenationBlockSize([(50_000 * block) + 1], block));
        Assert.Equal(block, AzureBlobBackend.ConcatenationBlockSize(Enumerable.Repeat(1L, 50_000), block)); // one block per tiny source
        Assert.Equal(2 * block, AzureBlobBackend.ConcatenationBlockSize(Enumerable.Repeat(1L, 49_999).Append(block + 1), block));
        Assert.Equal(32 * MiB, AzureBlobBackend.ConcatenationBlockSize([1L << 40], block)); // 1 TiB: 21 MiB needed, doubled to 32
        Assert.Throws<InvalidOperationException>(() => AzureBlobBackend.ConcatenationBlockSize([50_000 * AzureBlobBackend.MaxConcatenationBlockSize * 2], block));
        Assert.Throws<InvalidOperationException>(() => AzureBlobBackend.ConcatenationBlockSize(Enumerable.Repeat(1L, 50_001), block));
    }

    private async Task<string> CreatePartialAsync(byte[] data)
    {
        using var create = TusRequest(HttpMethod.Post, "uploads/azure");
        create.Headers.TryAddWithoutValidation("Upload-Length", data.Length.ToString(CultureInfo.InvariantCulture));
        create.Headers.TryAddWithoutValidation("Upload-Concat", "partial");
        using var created = await Client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = created.Headers.Location!.ToString();
        // In two PATCHes where there is enough, so partials go through tails and blocks like any upload.
        var half = data.Length / 2;
        foreach (var (offset, count) in data.Length > 1 ? new[] { (0, half), (half, data.Length - half) } : [(0, data.Length)])
        {
            if (count == 0 && data.Length > 0)
            {
                continue;
            }

            using var patch = TusRequest(HttpMethod.Patch, location);
            patch.Headers.TryAddWithoutValidation("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
            patch.Content = new ByteArrayContent(data, offset, count);
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
            using var patched = await Client.SendAsync(patch);
            Assert.Equal(HttpStatusCode.NoContent, patched.StatusCode);
        }

        return location;
    }

    private static HttpRequestMessage TusRequest(HttpMethod method, string url)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.TryAddWithoutValidation("Tus-Resumable", "1.0.0");
        return request;
    }

    private async Task<List<long>> CommittedBlocksAsync(string key)
    {
        var list = (await azurite.CreateContainer().GetBlockBlobClient(key).GetBlockListAsync(BlockListTypes.All)).Value;
        Assert.Empty(list.UncommittedBlocks);
        return [.. list.CommittedBlocks.Select(b => b.SizeLong)];
    }

    private static byte[] Bytes(int count, int seed) => AzureEngine.Bytes(count, seed);
}
