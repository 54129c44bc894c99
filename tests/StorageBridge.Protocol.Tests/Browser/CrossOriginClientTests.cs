using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Protocol.Tests.Browser;

/// <summary>
/// The real browser clients in headless Chromium on a page of another origin than the bridge (the page at
/// http://localhost:P or http://localhost:Q, the bridge at http://127.0.0.1:P): tus-js-client in tus-v1 and IETF
/// (ietf-draft-05) modes, Uppy with its tus plugin, Resumable.js 1.1.0 and Flow.js 2.14.1. From the allowed origin
/// each stores the file byte for byte (sha-256 of the downloaded object); from an origin the target does not allow each
/// fails, and nothing is created or stored.
/// </summary>
[Collection(BrowserSecurityCollection.Name)]
public sealed class CrossOriginClientTests(BrowserSecurityFixture fixture, ITestOutputHelper output)
{
    private const int ChunkSize = 1024 * 1024;
    private const int Size = (3 * ChunkSize) + 12_345;
    private const int TestTimeoutMs = 120_000;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string, string> Clients => new()
    {
        { "tus", "tus-v1" },
        { "tus", "ietf-draft-05" },
        { "uppy", "tus-v1" },
        { "resumable", "resumable" },
        { "flow", "flow" },
    };

    [Theory(Timeout = TestTimeoutMs)]
    [MemberData(nameof(Clients))]
    public async Task Client_uploads_byte_exact_from_the_allowed_origin(string client, string protocol)
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs - 5_000);
        var (path, sha) = await SourceAsync($"allowed-{client}-{protocol}.bin", cts.Token);
        await using var browser = await OpenPageAsync(fixture.AllowedOrigin, path, cts.Token);

        var run = await browser.RunClientAsync(client, Options(client, protocol, "open"), RunTimeout, cts.Token);
        output.WriteLine($"{client} ({protocol}) from {fixture.AllowedOrigin}: {run}");

        Assert.True(run.Ok, run.ToString());
        Assert.NotNull(run.Url);
        var upload = new Uri(run.Url);
        Assert.Equal(fixture.Bridge.GetLeftPart(UriPartial.Authority), upload.GetLeftPart(UriPartial.Authority));
        using var download = await fixture.Client.GetAsync(new Uri(upload + "/content"), cts.Token);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        var stored = await download.Content.ReadAsByteArrayAsync(cts.Token);
        Assert.Equal(Size, stored.Length);
        Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(stored)));
    }

    [Theory(Timeout = TestTimeoutMs)]
    [MemberData(nameof(Clients))]
    public async Task Client_fails_from_an_origin_the_target_does_not_allow_and_nothing_is_stored(string client, string protocol)
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs - 5_000);
        var (path, _) = await SourceAsync($"refused-{client}-{protocol}.bin", cts.Token);
        var (created, appended) = (fixture.CreatedOn("guarded"), fixture.AppendedOn("guarded"));
        await using var browser = await OpenPageAsync(fixture.OtherOrigin, path, cts.Token);

        var run = await browser.RunClientAsync(client, Options(client, protocol, "guarded", refused: true), RunTimeout, cts.Token);
        output.WriteLine($"{client} ({protocol}) from {fixture.OtherOrigin}: {run}");

        Assert.False(run.Ok, run.ToString());
        // The browser hides the 403 from the page (no Access-Control-Allow-Origin): the libraries see status 0.
        Assert.NotEmpty(run.Statuses);
        Assert.All(run.Statuses, status => Assert.Equal(0, status));
        Assert.Equal(created, fixture.CreatedOn("guarded"));
        Assert.Equal(appended, fixture.AppendedOn("guarded"));
        Assert.Equal(0, fixture.FilesIn("guarded"));
    }

    private JsonObject Options(string client, string protocol, string target, bool refused = false)
    {
        var options = new JsonObject
        {
            ["endpoint"] = new Uri(fixture.Bridge, "uploads/" + target).ToString(),
            ["chunkSize"] = ChunkSize,
        };
        switch (client)
        {
            case "tus":
                options["protocol"] = protocol;
                break;
            case "resumable":
                options["simultaneousUploads"] = 3;
                if (refused)
                {
                    // Resumable.js retries a failed chunk 100 times by default (status 0 is not in permanentErrors).
                    options["maxChunkRetries"] = 2;
                }

                break;
            case "flow":
                options["simultaneousUploads"] = 3;
                break;
        }

        return options;
    }

    private async Task<BrowserDriver> OpenPageAsync(string origin, string file, CancellationToken cancellationToken)
    {
        var browser = await BrowserDriver.LaunchAsync(output.WriteLine, cancellationToken);
        try
        {
            await browser.OpenAsync(new Uri($"{origin}/page/index.html"), cancellationToken);
            await browser.AddFilesAsync([file], cancellationToken);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private async Task<(string Path, string Sha256)> SourceAsync(string name, CancellationToken cancellationToken)
    {
        var path = fixture.Root.Combine("sources", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var sha = await DeterministicData.WriteFileAsync(path, (ulong)name.GetHashCode(StringComparison.Ordinal), Size, cancellationToken);
        return (path, sha);
    }
}
