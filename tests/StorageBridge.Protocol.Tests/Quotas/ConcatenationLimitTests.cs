using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Tus.TusProtocol;

namespace StorageBridge.Protocol.Tests.Quotas;

/// <summary>tus concatenation: MaxConcatSources, the Upload-Concat header's size and MaxUploadSize, before any byte is copied.</summary>
public sealed class ConcatenationLimitTests : IDisposable
{
    private const int Partial = 1024 * 1024;

    private readonly TempDirectory _root = new("sb-concatlimits");

    public void Dispose() => _root.Dispose();

    private Dictionary<string, string?> Settings() => new()
    {
        ["StorageBridge:Metadata:Path"] = _root.Combine("meta.db"),
        ["StorageBridge:Targets:default:Root"] = _root.Combine("files"),
        ["StorageBridge:Targets:default:MaxUploadSize"] = "10MiB",
        ["StorageBridge:Targets:two:Root"] = _root.Combine("two"),
        ["StorageBridge:Targets:two:Limits:MaxConcatSources"] = "2",
    };

    /// <summary>Objects (not staging files) under a target's root folder.</summary>
    private string[] Objects(string target) =>
        Directory.Exists(_root.Combine(target))
            ? [.. Directory.GetFiles(_root.Combine(target), "*", SearchOption.AllDirectories).Where(f => !f.Contains(".staging", StringComparison.Ordinal))]
            : [];

    private static async Task<string> PartialAsync(HttpClient client, string target, byte[] data)
    {
        using var create = Creation(target, data.Length);
        create.Headers.TryAddWithoutValidation("Upload-Concat", "partial");
        using var created = await client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = IetfProtocol.Location(created);
        using var patch = await client.SendAsync(Patch(location, 0, data));
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        return location;
    }

    private static HttpRequestMessage Final(string target, IEnumerable<string> sources)
    {
        var request = Request(HttpMethod.Post, $"/uploads/{target}");
        request.Headers.TryAddWithoutValidation("Upload-Concat", "final;" + string.Join(' ', sources));
        return request;
    }

    [Fact]
    public async Task A_15KB_header_naming_one_partial_300_times_is_refused_without_creating_anything()
    {
        await using var server = await LimitsServer.StartAsync(Settings());
        var data = new byte[Partial];
        DeterministicData.Fill(11, 0, data);
        var partial = await PartialAsync(server.Client, "default", data);
        var objects = Objects("files");

        using var request = Final("default", Enumerable.Repeat(partial, 300));
        Assert.InRange(request.Headers.GetValues("Upload-Concat").Single().Length, 14_000, 16_000);
        using (var refused = await server.Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("1.0.0", Header(refused, "Tus-Resumable"));
            Assert.Null(refused.Headers.Location);
            Assert.Contains("at most 100", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // 11 sources pass the count but not MaxUploadSize (11 MiB > 10 MiB): 413, also before a byte is copied.
        using (var tooLarge = await server.Client.SendAsync(Final("default", Enumerable.Repeat(partial, 11))))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
            Assert.Null(tooLarge.Headers.Location);
        }

        Assert.Equal(objects, Objects("files"));

        // Within both bounds the final upload is made, byte-exact.
        using var joined = await server.Client.SendAsync(Final("default", Enumerable.Repeat(partial, 3)));
        Assert.Equal(HttpStatusCode.Created, joined.StatusCode);
        using var head = await server.Client.TusHeadAsync(IetfProtocol.Location(joined));
        Assert.Equal((3 * Partial).ToString(CultureInfo.InvariantCulture), Header(head, "Upload-Length"));
        var expected = SHA256.HashData([.. data, .. data, .. data]);
        var created = Objects("files").Except(objects).Single();
        Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(created))));
    }

    [Fact]
    public async Task Max_concat_sources_bounds_the_count_and_the_header_length()
    {
        await using var server = await LimitsServer.StartAsync(Settings());
        var partial = await PartialAsync(server.Client, "two", [1, 2, 3]);

        using (var three = await server.Client.SendAsync(Final("two", Enumerable.Repeat(partial, 3))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, three.StatusCode);
            Assert.Contains("MaxConcatSources", await three.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // 2 sources allowed: 512 bytes of header. One URL padded with spaces past that is refused unparsed.
        using (var padded = await server.Client.SendAsync(Final("two", [new string(' ', 600) + partial])))
        {
            Assert.Equal(HttpStatusCode.BadRequest, padded.StatusCode);
            Assert.Contains("longer than 512 bytes", await padded.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var two = await server.Client.SendAsync(Final("two", [partial, partial]));
        Assert.Equal(HttpStatusCode.Created, two.StatusCode);
    }
}
