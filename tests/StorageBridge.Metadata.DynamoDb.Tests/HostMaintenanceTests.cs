using System.Net;
using StorageBridge.AspNetCore;
using StorageBridge.Tests;
using StorageBridge.Uploads;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.DynamoDb.Tests;

/// <summary>
/// The Host as a Lambda would run it: DynamoDB metadata, the hosted expiry timer off, and the maintenance endpoint
/// mapped because a secret is configured; a call with the secret expires what is due.
/// </summary>
[Collection(MotoCollection.Name)]
public sealed class HostMaintenanceTests(MotoFixture moto, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "host-maintenance-secret-0123456789abcdef";
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private readonly string _table = MotoFixture.NewTableName();
    private HostProcess _host = null!;
    private HttpClient _client = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        var environment = moto.HostEnvironment(_table);
        environment["StorageBridge__Maintenance__Secret"] = Secret;
        environment["StorageBridge__Maintenance__ExpiryTimer"] = "false";
        environment["StorageBridge__Targets__default__Expiration"] = "2s";
        _host = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, OutputSink = line => Write(line) }, Ct);
        _client = new HttpClient { BaseAddress = _host.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _timeout.Dispose();
    }

    [Fact]
    public async Task The_schedules_call_expires_a_due_upload_that_no_timer_touched()
    {
        var upload = await IetfUploadRequests.CreateAsync(_client, "uploads/default", 1_000, Ct);
        var id = upload.Segments[^1];

        // Wait until the upload is past its expiry (it answers 410 at once then, before any sweep).
        while (await HeadStatusAsync(upload) != HttpStatusCode.Gone)
        {
            await Task.Delay(200, Ct);
        }

        using var store = new DynamoDbUploadMetadataStore(moto.Options(_table));
        Assert.Equal(UploadState.Open, (await store.GetAsync(id, Ct))!.State); // no timer swept it

        using (var wrong = await ExpireAsync("not-the-secret-not-the-secret-not-the-secret"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        }

        using (var response = await ExpireAsync(Secret))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("{\"handled\":1,\"more\":false}", await response.Content.ReadAsStringAsync(Ct));
        }

        Assert.Equal(UploadState.Expired, (await store.GetAsync(id, Ct))!.State);
    }

    private async Task<HttpStatusCode> HeadStatusAsync(Uri upload)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, upload);
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await _client.SendAsync(request, Ct);
        return response.StatusCode;
    }

    private Task<HttpResponseMessage> ExpireAsync(string secret)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "maintenance/expire");
        request.Headers.Add(MaintenanceEndpoints.SecretHeader, secret);
        return _client.SendAsync(request, Ct);
    }

    private void Write(string line)
    {
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
        }
    }
}
