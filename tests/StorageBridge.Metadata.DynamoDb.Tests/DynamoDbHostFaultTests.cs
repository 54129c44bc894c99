using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Tests;

namespace StorageBridge.Metadata.DynamoDb.Tests;

/// <summary>
/// The endpoints on a DynamoDB store that throttles: a request the SDK could not get through answers 503 with
/// Retry-After (nothing is lost), and the upload continues from the offset HEAD reports once the table answers again.
/// </summary>
[Collection(MotoCollection.Name)]
public sealed class DynamoDbHostFaultTests(MotoFixture moto, Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const ulong Seed = 0xD1A0;
    private const long Total = 300_000;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private readonly DynamoDbFaultInjector _faults = new();
    private readonly string _files = Directory.CreateTempSubdirectory("sb-dynamodb-host-").FullName;
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StorageBridge:Targets:default:Root"] = _files,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var store = moto.Options(httpClientFactory: _faults, maxErrorRetry: 1);
        builder.Services.AddStorageBridge(builder.Configuration).UseDynamoDbMetadata(o =>
        {
            o.TableName = store.TableName;
            o.ServiceUrl = store.ServiceUrl;
            o.Region = store.Region;
            o.AccessKey = store.AccessKey;
            o.SecretKey = store.SecretKey;
            o.CreateTable = true;
            o.ConfigureClient = store.ConfigureClient;
        });
        _app = builder.Build();
        _app.MapResumableUploads("/uploads");
        await _app.StartAsync(Ct);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient { BaseAddress = new Uri(address + "/") };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        Directory.Delete(_files, recursive: true);
        _timeout.Dispose();
    }

    [Fact]
    public async Task Throttled_writes_answer_503_with_retry_after_and_the_upload_resumes_byte_exact()
    {
        var upload = await IetfUploadRequests.CreateAsync(_client, "uploads/default", Total, Ct);
        var offset = await IetfUploadRequests.AppendAsync(_client, upload, Seed, 0, 100_000, Total, Ct);

        // Every PutItem is throttled past the SDK's one retry: the append cannot take its lease or record bytes.
        _faults.Set(DynamoDbFault.Throttle, "PutItem");
        using (var response = await SendAppendAsync(upload, offset, 100_000))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("1", Assert.Single(response.Headers.GetValues("Retry-After")));
        }

        Assert.True(_faults.Injected >= 2);
        _faults.Reset();
        offset = await IetfUploadRequests.HeadOffsetAsync(_client, upload, Ct);
        Assert.Equal(100_000, offset);
        while (offset < Total)
        {
            offset = await IetfUploadRequests.AppendAsync(_client, upload, Seed, offset, 100_000, Total, Ct);
        }

        var content = await _client.GetByteArrayAsync(new Uri(upload + "/content"), Ct);
        Assert.Equal(DeterministicData.Sha256(Seed, Total), Convert.ToHexStringLower(SHA256.HashData(content)));
    }

    [Fact]
    public async Task A_throttled_create_answers_503_with_retry_after()
    {
        _faults.Set(DynamoDbFault.Throttle, "PutItem");
        using var request = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent([1, 2, 3]) };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Complete", "?1");

        using var response = await _client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("1", Assert.Single(response.Headers.GetValues("Retry-After")));
    }

    [Fact]
    public async Task An_append_costs_a_few_item_reads_and_writes()
    {
        // The cost model in docs/metadata-stores.md: DynamoDB requests per create, per append and per HEAD.
        var before = Counts();
        const long length = 1_000_000; // not reached: every append is a plain one
        var upload = await IetfUploadRequests.CreateAsync(_client, "uploads/default", length, Ct);
        var created = Counts();
        var offset = 0L;
        const int appends = 3;
        for (var i = 0; i < appends; i++)
        {
            offset = await IetfUploadRequests.AppendAsync(_client, upload, Seed, offset, 100_000, length, Ct);
        }

        var appended = Counts();
        await IetfUploadRequests.HeadOffsetAsync(_client, upload, Ct);
        var headed = Counts();

        output.WriteLine($"create: {Describe(before, created)}");
        output.WriteLine($"per append of 100,000 B ({appends}): {Describe(created, appended, appends)}");
        output.WriteLine($"HEAD: {Describe(appended, headed)}");
        Assert.Equal(0, headed.Puts - appended.Puts);
        Assert.Equal(1, headed.Gets - appended.Gets);
        Assert.Equal(1, created.Puts - before.Puts);
        Assert.InRange(appended.Puts - created.Puts, appends, 3 * appends); // measured: 2 per append (lease, then bytes)
        Assert.InRange(appended.Gets - created.Gets, 0, 2 * appends); // measured: 1 per append
    }

    private (int Puts, int Gets, int Deletes) Counts() => (_faults.Calls("PutItem"), _faults.Calls("GetItem"), _faults.Calls("DeleteItem"));

    private static string Describe((int Puts, int Gets, int Deletes) from, (int Puts, int Gets, int Deletes) to, int per = 1) =>
        $"PutItem {(to.Puts - from.Puts) / (double)per:0.##}, GetItem {(to.Gets - from.Gets) / (double)per:0.##}, DeleteItem {(to.Deletes - from.Deletes) / (double)per:0.##}";

    private Task<HttpResponseMessage> SendAppendAsync(Uri upload, long offset, int length)
    {
        var body = new byte[length];
        DeterministicData.Fill(Seed, offset, body);
        var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = new ByteArrayContent(body) };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", "?0");
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/partial-upload");
        return _client.SendAsync(request, Ct);
    }
}
