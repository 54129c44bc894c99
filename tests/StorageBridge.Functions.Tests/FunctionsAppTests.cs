using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.Azure.Cosmos;
using Microsoft.Azure.Functions.Worker;
using StorageBridge.Backends.AzureBlob.Tests;
using StorageBridge.Metadata.Cosmos.Tests;
using StorageBridge.Tests;

namespace StorageBridge.Functions.Tests;

/// <summary>
/// The Function App's services and endpoints (Cosmos DB metadata on the Cosmos emulator, an Azure Blob target on
/// Azurite, the Functions profile) behind its HTTP trigger method, driven by tus-js-client and IETF requests; every
/// stored object's sha-256 must equal the source. What this cannot show: the Functions host itself (func) in front.
/// </summary>
[Collection(CosmosCollection.Name)]
public sealed class FunctionsAppTests(CosmosEmulatorFixture cosmos, AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private const string Database = "sb-functions";

    private readonly string _records = "fn" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _files = Directory.CreateTempSubdirectory("sb-functions-").FullName;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(4));
    private FunctionsTestHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await FunctionsTestHost.StartAsync(Settings());
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = _host.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
        _timeout.Dispose();
        Directory.Delete(_files, recursive: true);
        using var inspector = cosmos.CreateClient();
        await inspector.GetContainer(Database, _records).DeleteContainerStreamAsync();
    }

    [Theory]
    [InlineData("tus-v1", 0)]
    [InlineData("tus-v1", 1)]
    [InlineData("tus-v1", (5 * 1024 * 1024) + 3)]
    [InlineData("ietf-draft-05", (5 * 1024 * 1024) + 3)]
    public async Task Tus_js_client_uploads_through_the_trigger_and_the_blob_has_the_source_sha256(string protocol, int size)
    {
        var path = Path.Combine(_files, $"{protocol}-{size}.bin");
        var sha = await DeterministicData.WriteFileAsync(path, 0xF0u + (ulong)size, size, _timeout.Token);

        var url = await RunTusJsClientAsync(path, protocol, (2 * 1024 * 1024).ToString(CultureInfo.InvariantCulture));

        var id = url.Split('/')[^1];
        Assert.StartsWith(new Uri(_host.BaseAddress, "uploads/default/").ToString(), url, StringComparison.Ordinal);
        Assert.Equal(sha, await BlobSha256Async(id));
        Assert.Equal("Completed", await RecordStateAsync(id));
        using var download = await _client.GetAsync(new Uri(url + "/content"), _timeout.Token);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(await download.Content.ReadAsByteArrayAsync(_timeout.Token))));
    }

    [Fact]
    public async Task IETF_upload_in_several_appends_through_the_trigger_commits_the_source_sha256()
    {
        var ct = _timeout.Token;
        const ulong seed = 0xF1;
        const long total = (9 * 1024 * 1024) + 5;
        var upload = await IetfUploadRequests.CreateAsync(_client, "uploads/default", total, ct);

        var offset = 0L;
        while (offset < total)
        {
            offset = await IetfUploadRequests.AppendAsync(_client, upload, seed, offset, 4 * 1024 * 1024, total, ct);
        }

        var id = upload.AbsolutePath.Split('/')[^1];
        Assert.Equal(DeterministicData.Sha256(seed, total), await BlobSha256Async(id));
        Assert.Equal("Completed", await RecordStateAsync(id));
    }

    [Fact]
    public async Task OPTIONS_advertises_the_front_end_body_cap_as_max_append_size()
    {
        // Configured 1GiB (Settings): the Functions profile caps it at the 100 MB front end's limit, 104,857,600 bytes.
        using var request = new HttpRequestMessage(HttpMethod.Options, "uploads/default");
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await _client.SendAsync(request, _timeout.Token);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var limit = response.Headers.GetValues("Upload-Limit").Single();
        Assert.Contains("max-append-size=104857600", limit, StringComparison.Ordinal);

        // Exposed (always, on Functions) and no MaxUploadSize configured: at most the documented 10 GiB cap.
        var maxSize = limit.Split(',').Select(m => m.Trim()).Single(m => m.StartsWith("max-size=", StringComparison.Ordinal));
        Assert.InRange(long.Parse(maxSize["max-size=".Length..], System.Globalization.CultureInfo.InvariantCulture), 1, 10L * 1024 * 1024 * 1024);
    }

    [Fact]
    public async Task A_creation_with_content_gets_no_104_interim_response_first()
    {
        // On the wire: the first status line after the request is the final 201 (the Host would send 104 first).
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _host.Port, _timeout.Token);
        var stream = tcp.GetStream();
        var body = new byte[1000];
        DeterministicData.Fill(0xF2, 0, body);
        var head = "POST /uploads/default HTTP/1.1\r\nHost: 127.0.0.1\r\nUpload-Draft-Interop-Version: 8\r\nUpload-Complete: ?1\r\n" +
                   $"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _timeout.Token);
        await stream.WriteAsync(body, _timeout.Token);

        using var reader = new StreamReader(stream, Encoding.ASCII);
        var wire = await reader.ReadToEndAsync(_timeout.Token);
        Assert.StartsWith("HTTP/1.1 201 ", wire, StringComparison.Ordinal);
        Assert.DoesNotContain("HTTP/1.1 104", wire, StringComparison.Ordinal);
        var location = wire.Split("\r\n").Single(l => l.StartsWith("Location: ", StringComparison.OrdinalIgnoreCase))["Location: ".Length..];
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(body)), await BlobSha256Async(location.Split('/')[^1]));
    }

    [Fact]
    public async Task The_timer_trigger_expires_an_abandoned_upload_and_its_url_answers_410()
    {
        var ct = _timeout.Token;
        var upload = await IetfUploadRequests.CreateAsync(_client, "uploads/brief", 10_000, ct);
        await IetfUploadRequests.AppendAsync(_client, upload, 0xF3, 0, 1000, 10_000, ct);
        var id = upload.AbsolutePath.Split('/')[^1];
        var due = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
        Assert.Equal("Open", await RecordStateAsync(id));

        // Once the target's Expiration (1s) has passed, one timer invocation expires it. The hosted cleanup service ran
        // its one round at start-up and then waits a CleanupInterval of 30d, so only the timer function can do it.
        while (DateTimeOffset.UtcNow <= due)
        {
            await Task.Delay(100, ct);
        }

        await _host.ActivateFunctions().RunExpiryAsync(new TimerInfo(), ct);

        Assert.Equal("Expired", await RecordStateAsync(id));
        using var head = new HttpRequestMessage(HttpMethod.Head, upload);
        head.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var gone = await _client.SendAsync(head, ct);
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
    }

    [Fact]
    public async Task A_path_outside_the_upload_endpoints_is_404()
    {
        using var response = await _client.GetAsync("uploads/default/not-an-upload/content/extra", _timeout.Token);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private Dictionary<string, string?> Settings() => new()
    {
        ["StorageBridge:Metadata:Provider"] = "Cosmos",
        ["StorageBridge:Metadata:Endpoint"] = cosmos.Endpoint.AbsoluteUri,
        ["StorageBridge:Metadata:Key"] = cosmos.Key,
        ["StorageBridge:Metadata:ConnectionMode"] = "Gateway",
        ["StorageBridge:Metadata:AcceptAnyServerCertificate"] = cosmos.AcceptAnyServerCertificate ? "true" : "false",
        ["StorageBridge:Metadata:Database"] = Database,
        ["StorageBridge:Metadata:Container"] = _records,
        ["StorageBridge:CleanupInterval"] = "30d",
        ["StorageBridge:Targets:default:Backend"] = "AzureBlob",
        ["StorageBridge:Targets:default:ConnectionString"] = azurite.ConnectionString,
        ["StorageBridge:Targets:default:Container"] = azurite.ContainerName,
        ["StorageBridge:Targets:default:MinBlockSize"] = "1MiB",
        ["StorageBridge:Targets:default:MaxAppendSize"] = "1GiB",
        ["StorageBridge:Targets:brief:Backend"] = "AzureBlob",
        ["StorageBridge:Targets:brief:ConnectionString"] = azurite.ConnectionString,
        ["StorageBridge:Targets:brief:Container"] = azurite.ContainerName,
        ["StorageBridge:Targets:brief:Expiration"] = "1s",
        // The Functions host is always exposed: its targets must state their authentication.
        ["StorageBridge:Targets:default:Auth:Anonymous"] = "true",
        ["StorageBridge:Targets:brief:Auth:Anonymous"] = "true",
    };

    /// <summary>tests/clients/tus-upload.mjs (the real tus-js-client) uploading to the default target; the upload URL.</summary>
    private async Task<string> RunTusJsClientAsync(string path, string protocol, string chunkSize)
    {
        var clientDir = RepositoryLayout.ClientsDirectory;
        Assert.True(File.Exists(Path.Combine(clientDir, "node_modules", "tus-js-client", "package.json")), "run npm ci in tests/clients (./test.sh does)");
        var result = await ChildProcess.RunAsync(
            "node",
            // Buffer input: with a Node stream, tus-js-client's IETF modes end with Upload-Complete: ?0 and never complete
            // (docs/protocols.md), which the draft leaves incomplete.
            [Path.Combine(clientDir, "tus-upload.mjs"), new Uri(_host.BaseAddress, "uploads/default").ToString(), path, protocol, chunkSize, "--input", "buffer"],
            clientDir,
            TimeSpan.FromMinutes(2),
            _timeout.Token);
        Assert.True(result.ExitCode == 0, result.ToString());
        var line = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        using var output = JsonDocument.Parse(line);
        return output.RootElement.GetProperty("url").GetString()!;
    }

    private async Task<string> BlobSha256Async(string key)
    {
        var blob = new BlobContainerClient(azurite.ConnectionString, azurite.ContainerName).GetBlobClient(key);
        await using var stream = await blob.OpenReadAsync(cancellationToken: _timeout.Token);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, _timeout.Token));
    }

    private async Task<string?> RecordStateAsync(string id)
    {
        using var inspector = cosmos.CreateClient();
        var item = await inspector.GetContainer(Database, _records)
            .ReadItemAsync<Newtonsoft.Json.Linq.JObject>(id, new PartitionKey(id), cancellationToken: _timeout.Token);
        return (string?)item.Resource["state"];
    }
}
