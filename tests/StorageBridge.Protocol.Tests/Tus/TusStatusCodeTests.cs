using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using StorageBridge.Protocol.Tests.Ietf;
using static StorageBridge.Protocol.Tests.Tus.TusProtocol;

namespace StorageBridge.Protocol.Tests.Tus;

/// <summary>Every status code of tus 1.0.0 (core, creation, termination, expiration, checksum), with the exact headers, on a real Kestrel.</summary>
[Collection(IetfServerCollection.Name)]
public sealed class TusStatusCodeTests(IetfServerFixture server)
{
    private HttpClient Client => server.Client;

    private static byte[] Data(int count, int seed) => [.. Enumerable.Range(0, count).Select(i => (byte)((i * 31) + seed))];

    private static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private async Task<long> OffsetAsync(string location)
    {
        using var head = await Client.TusHeadAsync(location);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        return long.Parse(Header(head, "Upload-Offset")!, CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Options_204_announces_version_extensions_max_size_and_checksums()
    {
        using var response = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Options, $"{IetfServerFixture.Prefix}/small"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("1.0.0", Header(response, "Tus-Resumable"));
        Assert.Equal("1.0.0", Header(response, "Tus-Version"));
        Assert.Equal("1024", Header(response, "Tus-Max-Size"));
        Assert.Equal("sha1,md5,sha256,sha512", Header(response, "Tus-Checksum-Algorithm"));
        Assert.Equal(
            ["creation", "creation-with-upload", "creation-defer-length", "checksum", "termination", "expiration", "concatenation"],
            Header(response, "Tus-Extension")!.Split(','));
        Assert.NotNull(Header(response, "Upload-Limit")); // the IETF side of the same answer
    }

    [Fact]
    public async Task Creation_201_has_location_offset_and_expires_and_head_200_echoes_everything()
    {
        var metadata = $"filename {Base64("report.pdf")},filetype {Base64("application/pdf")},empty";
        using var created = await Client.SendAsync(Creation("default", 20, metadata: metadata));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("1.0.0", Header(created, "Tus-Resumable"));
        Assert.Equal("0", Header(created, "Upload-Offset"));
        var expires = DateTimeOffset.ParseExact(Header(created, "Upload-Expires")!, "R", CultureInfo.InvariantCulture);
        Assert.InRange(expires, DateTimeOffset.UtcNow.AddHours(23), DateTimeOffset.UtcNow.AddHours(25));
        var location = IetfProtocol.Location(created);

        using var head = await Client.TusHeadAsync(location);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("1.0.0", Header(head, "Tus-Resumable"));
        Assert.Equal("0", Header(head, "Upload-Offset"));
        Assert.Equal("20", Header(head, "Upload-Length"));
        Assert.Null(Header(head, "Upload-Defer-Length"));
        Assert.Equal(metadata, Header(head, "Upload-Metadata"));
        Assert.Equal("no-store", Header(head, "Cache-Control"));

        var data = Data(20, 1);
        using var patch = await Client.SendAsync(Patch(location, 0, data));
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        Assert.Equal("20", Header(patch, "Upload-Offset"));
        var stored = await Client.DownloadAsync(location);
        Assert.Equal(Sha(data), Sha(stored));
        // filename/filetype became the object's content type (download answers with it).
        using var download = await Client.GetAsync(location + "/content");
        Assert.Equal("application/pdf", download.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Patch_204_moves_the_offset_and_sends_upload_expires()
    {
        var data = Data(10, 2);
        var location = await Client.TusCreateAsync("default", 10);

        using var first = await Client.SendAsync(Patch(location, 0, data[..4]));
        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        Assert.Equal("4", Header(first, "Upload-Offset"));
        Assert.Equal("1.0.0", Header(first, "Tus-Resumable"));
        Assert.NotNull(Header(first, "Upload-Expires"));

        using var last = await Client.SendAsync(Patch(location, 4, data[4..]));
        Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
        Assert.Equal("10", Header(last, "Upload-Offset"));
        Assert.Equal(Sha(data), Sha(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Delete_of_a_completed_upload_is_204_and_keeps_the_object()
    {
        // Termination covers completed uploads (tus 1.0 termination extension): the upload goes, the object stays.
        var data = Data(40, 9);
        var location = await Client.TusCreateAsync("default", data.Length, data);
        var stored = Path.Combine(server.TargetRoot("default"), IetfProtocol.IdOf(location));
        Assert.Equal(Sha(data), Sha(await File.ReadAllBytesAsync(stored)));

        using (var delete = await Client.SendAsync(Request(HttpMethod.Delete, location)))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
            Assert.Equal("1.0.0", Header(delete, "Tus-Resumable"));
        }

        using (var head = await Client.TusHeadAsync(location))
        {
            Assert.True(head.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone, head.StatusCode.ToString());
            Assert.Null(Header(head, "Upload-Offset"));
        }

        Assert.Equal(Sha(data), Sha(await File.ReadAllBytesAsync(stored)));
    }

    [Fact]
    public async Task Creation_with_upload_stores_the_first_bytes()
    {
        var data = Data(12, 3);
        using var created = await Client.SendAsync(Creation("default", 12, data[..5]));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("5", Header(created, "Upload-Offset"));
        var location = IetfProtocol.Location(created);
        using var rest = await Client.SendAsync(Patch(location, 5, data[5..]));
        Assert.Equal("12", Header(rest, "Upload-Offset"));
        Assert.Equal(Sha(data), Sha(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Defer_length_takes_the_length_from_a_later_patch_and_then_fixes_it()
    {
        var data = Data(9, 4);
        var location = await Client.TusCreateAsync("default", null);
        using (var head = await Client.TusHeadAsync(location))
        {
            Assert.Equal("1", Header(head, "Upload-Defer-Length"));
            Assert.Null(Header(head, "Upload-Length"));
            Assert.Equal("0", Header(head, "Upload-Offset"));
        }

        using (var first = await Client.SendAsync(Patch(location, 0, data[..3])))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        var withLength = Patch(location, 3, data[3..6]);
        withLength.Headers.TryAddWithoutValidation("Upload-Length", "9");
        using (var second = await Client.SendAsync(withLength))
        {
            Assert.Equal(HttpStatusCode.NoContent, second.StatusCode);
            Assert.Equal("6", Header(second, "Upload-Offset"));
        }

        using (var head = await Client.TusHeadAsync(location))
        {
            Assert.Equal("9", Header(head, "Upload-Length"));
            Assert.Null(Header(head, "Upload-Defer-Length"));
        }

        var other = Patch(location, 6, data[6..]);
        other.Headers.TryAddWithoutValidation("Upload-Length", "10");
        using (var changed = await Client.SendAsync(other))
        {
            Assert.Equal(HttpStatusCode.BadRequest, changed.StatusCode);
        }

        Assert.Equal(6, await OffsetAsync(location));
        using var last = await Client.SendAsync(Patch(location, 6, data[6..]));
        Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
        Assert.Equal(Sha(data), Sha(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Zero_length_upload_is_complete_at_creation()
    {
        var location = await Client.TusCreateAsync("default", 0);
        using var head = await Client.TusHeadAsync(location);
        Assert.Equal("0", Header(head, "Upload-Offset"));
        Assert.Equal("0", Header(head, "Upload-Length"));
        Assert.Empty(await Client.DownloadAsync(location));
    }

    [Theory]
    [InlineData("2")]
    [InlineData("0")]
    [InlineData("yes")]
    public async Task Creation_400_for_a_defer_value_other_than_1(string value)
    {
        var request = Request(HttpMethod.Post, $"{IetfServerFixture.Prefix}/default");
        request.Headers.TryAddWithoutValidation("Upload-Defer-Length", value);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("1.0.0", Header(response, "Tus-Resumable"));
        Assert.Null(Header(response, "Location"));
    }

    [Theory]
    [InlineData("0.2.2")]
    [InlineData("1.0")]
    [InlineData("")]
    public async Task Unsupported_version_412_with_tus_version(string version)
    {
        var location = await Client.TusCreateAsync("default", 10);
        var request = new HttpRequestMessage(HttpMethod.Head, location);
        request.Headers.TryAddWithoutValidation("Tus-Resumable", version);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("1.0.0", Header(response, "Tus-Version"));
        Assert.Equal("1.0.0", Header(response, "Tus-Resumable"));
        Assert.Null(Header(response, "Upload-Offset"));
    }

    [Fact]
    public async Task Patch_415_without_offset_octet_stream()
    {
        var location = await Client.TusCreateAsync("default", 10);
        var request = Patch(location, 0, Data(3, 10));
        request.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal(0, await OffsetAsync(location));
    }

    [Theory]
    [InlineData("sha1")]
    [InlineData("md5")]
    [InlineData("sha256")]
    public async Task Checksum_460_discards_the_chunk_and_a_matching_one_appends(string algorithm)
    {
        var data = Data(8, 11);
        var location = await Client.TusCreateAsync("default", 8);
        byte[] Digest(byte[] d) => algorithm switch { "sha1" => SHA1.HashData(d), "md5" => MD5.HashData(d), _ => SHA256.HashData(d) };

        var wrong = Patch(location, 0, data);
        wrong.Headers.TryAddWithoutValidation("Upload-Checksum", $"{algorithm} {Convert.ToBase64String(Digest(Data(8, 12)))}");
        using (var rejected = await Client.SendAsync(wrong))
        {
            Assert.Equal(460, (int)rejected.StatusCode);
            Assert.Equal("0", Header(rejected, "Upload-Offset"));
        }

        Assert.Equal(0, await OffsetAsync(location));
        var right = Patch(location, 0, data);
        right.Headers.TryAddWithoutValidation("Upload-Checksum", $"{algorithm} {Convert.ToBase64String(Digest(data))}");
        using (var accepted = await Client.SendAsync(right))
        {
            Assert.Equal(HttpStatusCode.NoContent, accepted.StatusCode);
            Assert.Equal("8", Header(accepted, "Upload-Offset"));
        }

        Assert.Equal(Sha(data), Sha(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Checksum_with_an_unsupported_algorithm_is_400()
    {
        var location = await Client.TusCreateAsync("default", 8);
        var request = Patch(location, 0, Data(8, 13));
        request.Headers.TryAddWithoutValidation("Upload-Checksum", "crc32 AAAAAA==");
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, await OffsetAsync(location));
    }

    [Fact]
    public async Task Method_override_turns_a_post_into_patch_head_and_delete()
    {
        var data = Data(6, 14);
        var location = await Client.TusCreateAsync("default", 6);
        var patch = Patch(location, 0, data[..2]);
        patch.Method = HttpMethod.Post;
        patch.Headers.TryAddWithoutValidation("X-HTTP-Method-Override", "PATCH");
        using (var patched = await Client.SendAsync(patch))
        {
            Assert.Equal(HttpStatusCode.NoContent, patched.StatusCode);
            Assert.Equal("2", Header(patched, "Upload-Offset"));
        }

        var head = Request(HttpMethod.Post, location);
        head.Headers.TryAddWithoutValidation("X-HTTP-Method-Override", "HEAD");
        using (var headed = await Client.SendAsync(head))
        {
            Assert.Equal(HttpStatusCode.OK, headed.StatusCode);
            Assert.Equal("2", Header(headed, "Upload-Offset"));
        }

        var delete = Request(HttpMethod.Post, location);
        delete.Headers.TryAddWithoutValidation("X-HTTP-Method-Override", "DELETE");
        using (var deleted = await Client.SendAsync(delete))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using var gone = await Client.TusHeadAsync(location);
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
    }

    [Fact]
    public async Task Concatenation_joins_partials_final_head_and_403_on_patch()
    {
        var a = Data(7, 15);
        var b = Data(11, 16);
        var pa = await CreatePartialAsync(a);
        var pb = await CreatePartialAsync(b);
        using (var head = await Client.TusHeadAsync(pa))
        {
            Assert.Equal("partial", Header(head, "Upload-Concat"));
        }

        var final = Request(HttpMethod.Post, $"{IetfServerFixture.Prefix}/default");
        var concat = $"final;{pb} {server.BaseAddress.ToString().TrimEnd('/')}{pa}";
        final.Headers.TryAddWithoutValidation("Upload-Concat", concat);
        final.Headers.TryAddWithoutValidation("Upload-Metadata", $"filename {Base64("joined.bin")}");
        using var created = await Client.SendAsync(final);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = IetfProtocol.Location(created);

        using (var head = await Client.TusHeadAsync(location))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(concat, Header(head, "Upload-Concat"));
            Assert.Equal("18", Header(head, "Upload-Offset"));
            Assert.Equal("18", Header(head, "Upload-Length"));
        }

        Assert.Equal(Sha([.. b, .. a]), Sha(await Client.DownloadAsync(location)));
        using var patch = await Client.SendAsync(Patch(location, 18, Data(1, 17)));
        Assert.Equal(HttpStatusCode.Forbidden, patch.StatusCode);
        Assert.Equal(Sha([.. b, .. a]), Sha(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Final_upload_of_an_unfinished_or_non_partial_upload_is_400()
    {
        var unfinished = Creation("default", 10);
        unfinished.Headers.TryAddWithoutValidation("Upload-Concat", "partial");
        using var partial = await Client.SendAsync(unfinished);
        var plain = await Client.TusCreateAsync("default", 1, Data(1, 18));

        foreach (var source in new[] { IetfProtocol.Location(partial), plain })
        {
            var final = Request(HttpMethod.Post, $"{IetfServerFixture.Prefix}/default");
            final.Headers.TryAddWithoutValidation("Upload-Concat", $"final;{source}");
            using var response = await Client.SendAsync(final);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Null(Header(response, "Location"));
        }
    }

    [Fact]
    public async Task Requests_without_tus_resumable_stay_ietf()
    {
        using var created = await Client.SendAsync(IetfProtocol.Creation("default", 8, complete: true, Data(3, 19)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Null(Header(created, "Tus-Resumable"));
        Assert.Equal("?1", Header(created, "Upload-Complete"));
    }

    private async Task<string> CreatePartialAsync(byte[] data)
    {
        var request = Creation("default", data.Length, data);
        request.Headers.TryAddWithoutValidation("Upload-Concat", "partial");
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return IetfProtocol.Location(response);
    }
}
