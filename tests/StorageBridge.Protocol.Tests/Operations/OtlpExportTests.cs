using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.Tests;
using Xunit.Abstractions;
using static StorageBridge.Protocol.Tests.Operations.HostUploads;

namespace StorageBridge.Protocol.Tests.Operations;

/// <summary>
/// The Host with <c>StorageBridge:Telemetry:Otlp:Endpoint</c> (OTLP over HTTP) pointed at a receiver in the test:
/// after one upload the exported traces hold the request's spans, the engine's append and its backend and store
/// calls with the upload id, and the exported metrics hold the StorageBridge instruments. Protobuf carries strings as
/// plain UTF-8, so the names are found in the request bodies without decoding them.
/// </summary>
public sealed class OtlpExportTests(ITestOutputHelper output)
{
    private const long Size = 200_003;
    private const ulong Seed = 0x0B5E_0004UL;

    [Fact(Timeout = 120_000)]
    public async Task Traces_and_metrics_reach_an_otlp_receiver()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var received = new ConcurrentQueue<(string Path, string Body)>();
        await using var receiver = await StartReceiverAsync(received);
        var endpoint = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        await using var host = await HostProcess.StartAsync(
            new HostProcessOptions
            {
                OutputSink = output.WriteLine,
                Environment = new Dictionary<string, string?>
                {
                    ["StorageBridge__Telemetry__Otlp__Endpoint"] = endpoint,
                    ["StorageBridge__Telemetry__Otlp__Protocol"] = "http/protobuf",
                    // Export often so the test does not wait for the defaults (5 s for spans, 60 s for metrics).
                    ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
                    ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
                },
            },
            cts.Token);
        using var client = CreateClient(host);
        var upload = await CreateAsync(client, host, Size, cts.Token);
        var id = upload.Segments[^1];
        await AppendAsync(client, host, upload, Seed, 0, Size, Size, cts.Token);

        string[] spans = ["StorageBridge.Append", "StorageBridge.Backend.WritePart", "StorageBridge.Metadata.Replace", "StorageBridge.Complete", id];
        string[] instruments = ["storagebridge.uploads_completed", "storagebridge.bytes_appended", "storagebridge.backend.call_duration"];
        while (!(Has("/v1/traces", spans) && Has("/v1/metrics", instruments)))
        {
            await Task.Delay(100, cts.Token);
        }

        bool Has(string path, string[] names)
        {
            var bodies = string.Concat(received.Where(r => r.Path == path).Select(r => r.Body));
            return names.All(name => bodies.Contains(name, StringComparison.Ordinal));
        }
    }

    private static async Task<WebApplication> StartReceiverAsync(ConcurrentQueue<(string Path, string Body)> received)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            received.Enqueue((context.Request.Path.Value!, Encoding.Latin1.GetString(body.ToArray())));
            context.Response.ContentType = "application/x-protobuf";
            return Results.Ok();
        });
        await app.StartAsync();
        return app;
    }
}
