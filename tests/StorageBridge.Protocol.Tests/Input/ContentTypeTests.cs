using System.Net;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Metadata;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Tus.TusProtocol;

namespace StorageBridge.Protocol.Tests.Input;

/// <summary>
/// A content type becomes a response header of every download, and Kestrel refuses header values with control or
/// non-ASCII characters: such a type is refused at creation by every protocol (400), and a value stored before that
/// check downloads as application/octet-stream instead of failing forever.
/// </summary>
[Collection(IetfServerCollection.Name)]
public sealed class ContentTypeTests(IetfServerFixture server)
{
    private HttpClient Client => server.Client;

    public static TheoryData<string> BadTypes => ["text/plain\u0001", "text/pla\u00efn", "text/plain\r\nX-Injected: 1", "image/\u7f8e", "text/plain\t"];

    [Theory]
    [MemberData(nameof(BadTypes))]
    public async Task Tus_filetype_with_control_or_non_ascii_characters_is_400(string type)
    {
        using var response = await Client.SendAsync(Creation("default", 5, metadata: $"filename {Base64("a.txt")},filetype {Base64(type)}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("filetype", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadTypes))]
    public async Task Ietf_creation_with_such_a_filetype_is_400(string type)
    {
        var request = IetfProtocol.Creation("default", 8, complete: true, "hello"u8.ToArray());
        request.Headers.TryAddWithoutValidation("Upload-Metadata", $"filetype {Base64(type)}");

        using var response = await Client.SendAsync(request);

        await IetfProtocol.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Null(response.Headers.Location);
    }

    [Theory]
    [MemberData(nameof(BadTypes))]
    public async Task Resumable_type_with_such_characters_is_400(string type)
    {
        var query = $"resumableChunkNumber=1&resumableChunkSize=1048576&resumableTotalSize=5&resumableIdentifier=ct-{Guid.NewGuid():N}"
            + $"&resumableFilename=a.txt&resumableType={Uri.EscapeDataString(type)}";
        using var response = await Client.PostAsync($"{IetfServerFixture.Prefix}/default?{query}", new ByteArrayContent("hello"u8.ToArray()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("resumableType", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_printable_type_is_kept_and_sent_back()
    {
        var location = await Client.TusCreateAsync("default", 5, "hello"u8.ToArray(), $"filetype {Base64("text/plain; charset=us-ascii")}");

        using var download = await Client.GetAsync(location + "/content");

        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("text/plain; charset=us-ascii", download.Content.Headers.ContentType!.ToString());
    }

    [Theory]
    [MemberData(nameof(BadTypes))]
    public async Task A_bad_type_stored_by_an_older_version_downloads_as_octet_stream(string type)
    {
        var data = TestData.Random(300, seed: 13);
        var location = await Client.TusCreateAsync("default", data.Length, data, $"filetype {Base64("text/plain")}");
        var store = server.Services.GetRequiredService<IUploadMetadataStore>();
        var record = (await store.GetAsync(IetfProtocol.IdOf(location), CancellationToken.None))!;
        var planted = await store.TryReplaceAsync(record with { ContentType = type }, CancellationToken.None);
        Assert.Equal(MetadataWriteStatus.Success, planted.Status);

        using var download = await Client.GetAsync(location + "/content");

        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/octet-stream", download.Content.Headers.ContentType!.MediaType);
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await download.Content.ReadAsByteArrayAsync()));
    }
}
