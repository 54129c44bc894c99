using System.Net;
using System.Text.Json;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// The Host process with an S3 target on its own fauxqs and the default file target: <c>/healthz/ready</c> answers
/// 200 while every dependency answers and 503 once the S3 emulator is stopped, naming the target that failed;
/// <c>/healthz/live</c> and <c>/healthz</c> stay 200 (they check no dependency).
/// </summary>
public sealed class ReadinessTests(ITestOutputHelper output)
{
    [Fact(Timeout = 120_000)]
    public async Task Ready_fails_when_the_s3_emulator_stops_and_live_does_not()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var emulator = new S3Endpoint();
        await emulator.InitializeAsync();
        if (emulator.IsExternal)
        {
            // An external endpoint cannot be stopped from here.
            output.WriteLine("STORAGEBRIDGE_S3_SERVICEURL is set: the endpoint cannot be stopped; nothing to test.");
            await emulator.DisposeAsync();
            return;
        }

        var environment = emulator.TargetSettings("s3").ToDictionary(setting => setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => setting.Value);
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { OutputSink = output.WriteLine, Environment = environment }, cts.Token);
        using var client = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        var (status, checks) = await ReadyAsync(client, cts.Token);
        Assert.True(status == HttpStatusCode.OK, host.Describe($"ready before the stop: {(int)status} {checks}"));
        Assert.Equal("ok", checks.GetProperty("metadata").GetString());
        Assert.Equal("ok", checks.GetProperty("target:s3").GetString());
        Assert.Equal("ok", checks.GetProperty("target:default").GetString());

        await emulator.DisposeAsync(); // kills fauxqs

        (status, checks) = await ReadyAsync(client, cts.Token);
        Assert.True(status == HttpStatusCode.ServiceUnavailable, host.Describe($"ready after the stop: {(int)status} {checks}"));
        Assert.Equal("Unhealthy", checks.GetProperty("status").GetString());
        Assert.NotEqual("ok", checks.GetProperty("target:s3").GetString());
        Assert.Equal("ok", checks.GetProperty("target:default").GetString());
        Assert.Equal("ok", checks.GetProperty("metadata").GetString());

        using var live = await client.GetAsync("healthz/live", cts.Token);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", await live.Content.ReadAsStringAsync(cts.Token));
        using var legacy = await client.GetAsync("healthz", cts.Token);
        Assert.Equal(HttpStatusCode.OK, legacy.StatusCode);
        Assert.Equal("ok", await legacy.Content.ReadAsStringAsync(cts.Token));
    }

    private static async Task<(HttpStatusCode Status, JsonElement Check)> ReadyAsync(HttpClient client, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync("healthz/ready", cancellationToken);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return (response.StatusCode, json.RootElement.GetProperty("checks").GetProperty("storagebridge").Clone());
    }
}
