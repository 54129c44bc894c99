using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Configuration;
using StorageBridge.Diagnostics;
using StorageBridge.Tests;

namespace StorageBridge.Protocol.Tests.Hooks;

/// <summary>
/// The pre-create webhook against a real receiver on Kestrel, through the IETF, tus and Resumable.js/Flow.js
/// front-ends: a rejection reaches the client as each protocol speaks and stores nothing, an accepted key and metadata
/// are used byte-exact, the request is signed, and a webhook that fails refuses the creation with 503 (fail closed).
/// </summary>
public sealed class PreCreateWebhookTests
{
    private const string RejectMessage = "Executables are not accepted here.";

    [Fact]
    public async Task A_rejection_reaches_every_protocol_with_its_status_and_message_and_nothing_is_stored()
    {
        await using var bridge = await HookedBridge.StartAsync();
        bridge.Answer = (_, context) => JsonAsync(context, 200, $$$"""{"reject":{"status":403,"message":"{{{RejectMessage}}}"}}""");
        var data = Data(100);

        using var ietf = await bridge.Client.SendAsync(IetfCreation(data));
        Assert.Equal(HttpStatusCode.Forbidden, ietf.StatusCode);
        Assert.Equal("application/problem+json", ietf.Content.Headers.ContentType?.MediaType);
        using (var problem = JsonDocument.Parse(await ietf.Content.ReadAsStringAsync()))
        {
            Assert.Equal(403, problem.RootElement.GetProperty("status").GetInt32());
            Assert.Equal(RejectMessage, problem.RootElement.GetProperty("detail").GetString());
        }

        Assert.False(ietf.Headers.Contains("Location"));

        using var tus = await bridge.Client.SendAsync(TusCreation(data, "evil.exe"));
        Assert.Equal(HttpStatusCode.Forbidden, tus.StatusCode);
        Assert.Equal("1.0.0", Header(tus, "Tus-Resumable"));
        Assert.Equal(RejectMessage + "\n", await tus.Content.ReadAsStringAsync());

        // Resumable.js retries a 403 (not one of its permanentErrors) 100 times: it gets 400, with the hook's message.
        foreach (var prefix in new[] { "resumable", "flow" })
        {
            for (var attempt = 0; attempt < 2; attempt++)
            {
                using var chunk = await bridge.Client.SendAsync(ResumableChunks.Chunk(
                    "uploads/files", ResumableChunks.Fields(prefix, "100-evil", 1, 100, data.Length, "evil.exe"), data, ChunkMode.Octet));
                Assert.Equal(HttpStatusCode.BadRequest, chunk.StatusCode);
                Assert.Equal(RejectMessage + "\n", await chunk.Content.ReadAsStringAsync());
            }
        }

        Assert.Empty(bridge.Files());
        // Each attempt asked the hook again: the refused chunk upload left no lookup behind to wait on.
        Assert.Equal(["ietf", "tus", "resumable", "resumable", "resumable", "resumable"], bridge.Received.Select(r => Json(r)["protocol"]!).ToArray());
        Assert.Contains(EventIds.Hooks.Rejected, bridge.LoggedIds);
    }

    [Fact]
    public async Task The_webhooks_object_key_and_metadata_are_used_by_every_protocol_below_the_prefix()
    {
        await using var bridge = await HookedBridge.StartAsync();
        bridge.Answer = (received, context) =>
            JsonAsync(context, 200, $$$"""{"objectKey":"by-hook/{{{Json(received)["protocol"]}}}.bin","metadata":{"scanned":"yes"}}""");
        var data = Data(3500);

        using var ietf = await bridge.Client.SendAsync(IetfCreation(data));
        Assert.Equal(HttpStatusCode.Created, ietf.StatusCode);
        using var tus = await bridge.Client.SendAsync(TusCreation(data, "photo.jpg"));
        Assert.Equal(HttpStatusCode.Created, tus.StatusCode);
        var chunks = await ResumableChunks.UploadAsync(bridge.Client, "uploads/files", data, 1000, new ChunkUploadOptions { Mode = ChunkMode.Octet, FileName = "photo.jpg" });
        Assert.True(chunks.Complete);

        foreach (var protocol in new[] { "ietf", "tus", "resumable" })
        {
            var path = Path.Combine(bridge.Root, "in", "by-hook", protocol + ".bin");
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path))));
        }

        foreach (var location in new[] { ietf.Headers.Location!.ToString(), tus.Headers.Location!.ToString(), chunks.Location })
        {
            var record = await bridge.Store.GetAsync(location.TrimEnd('/').Split('/')[^1], CancellationToken.None);
            Assert.Equal("yes", record!.Metadata["scanned"]);
            Assert.StartsWith("in/by-hook/", record.ObjectKey, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_request_is_signed_over_timestamp_and_body_and_describes_the_creation()
    {
        await using var bridge = await HookedBridge.StartAsync();
        var data = Data(100);

        using var tus = await bridge.Client.SendAsync(TusCreation(data, "photo.jpg"));
        Assert.Equal(HttpStatusCode.Created, tus.StatusCode);

        var received = Assert.Single(bridge.Received);
        Assert.Equal("application/json; charset=utf-8", received.ContentType);
        // Recomputed here, independently of WebhookSignature: HMAC-SHA256(secret, "{t}." + body), hex.
        var parts = received.Signature!.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(["t", "v1"], parts.Keys.Order().ToArray());
        var seconds = long.Parse(parts["t"], CultureInfo.InvariantCulture);
        Assert.InRange(seconds, DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds());
        var signed = Encoding.ASCII.GetBytes(parts["t"] + ".").Concat(received.Body).ToArray();
        Assert.Equal(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(HookedBridge.Secret), signed)), parts["v1"]);
        Assert.True(StorageBridge.Hooks.WebhookSignature.Verify(HookedBridge.Secret, received.Signature, received.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));
        Assert.False(StorageBridge.Hooks.WebhookSignature.Verify(HookedBridge.Secret + "x", received.Signature, received.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));

        using var json = JsonDocument.Parse(received.Body);
        var root = json.RootElement;
        Assert.Equal("storagebridge.upload.pre-create", root.GetProperty("type").GetString());
        Assert.Equal("files", root.GetProperty("target").GetString());
        Assert.Equal("tus", root.GetProperty("protocol").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("principal").ValueKind);
        Assert.Equal(0, root.GetProperty("claims").GetArrayLength());
        Assert.Equal(100, root.GetProperty("length").GetInt64());
        Assert.Equal("photo.jpg", root.GetProperty("fileName").GetString());
        Assert.Equal("photo.jpg", root.GetProperty("metadata").GetProperty("filename").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("objectKey").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("concatenationSources").ValueKind);
    }

    [Fact]
    public async Task A_tus_concatenation_is_checked_with_its_sources_and_a_rejection_joins_nothing()
    {
        await using var bridge = await HookedBridge.StartAsync();
        bridge.Answer = (received, context) => Json(received).ContainsKey("concatenationSources")
            ? JsonAsync(context, 200, """{"reject":{"status":409,"message":"No joining today."}}""")
            : NoContentAsync(context);
        var first = await PartialAsync(bridge, Data(300, seed: 1));
        var second = await PartialAsync(bridge, Data(200, seed: 2));
        var filesBefore = bridge.Files().Length;

        using var final = new HttpRequestMessage(HttpMethod.Post, "uploads/files");
        final.Headers.Add("Tus-Resumable", "1.0.0");
        final.Headers.TryAddWithoutValidation("Upload-Concat", $"final;{first} {second}");
        using var joined = await bridge.Client.SendAsync(final);

        Assert.Equal(HttpStatusCode.Conflict, joined.StatusCode);
        Assert.Equal("No joining today.\n", await joined.Content.ReadAsStringAsync());
        Assert.Equal(filesBefore, bridge.Files().Length);
        using var json = JsonDocument.Parse(bridge.Received.Last().Body);
        Assert.Equal(500, json.RootElement.GetProperty("length").GetInt64());
        Assert.Equal(
            [first.Split('/')[^1], second.Split('/')[^1]],
            json.RootElement.GetProperty("concatenationSources").EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    public static TheoryData<string> Failures => ["status 500", "timeout", "not json", "reject with 302", "unreachable"];

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_failing_webhook_refuses_the_creation_with_503_and_Retry_After_in_every_protocol(string failure)
    {
        var hold = new TaskCompletionSource();
        await using var bridge = await HookedBridge.StartAsync(webhookUrl: failure == "unreachable" ? $"http://127.0.0.1:{ClosedPort()}/hook" : null);
        bridge.Answer = (_, context) => failure switch
        {
            "status 500" => JsonAsync(context, 500, """{"objectKey":"never-used"}"""),
            "timeout" => hold.Task.WaitAsync(context.RequestAborted),
            "not json" => JsonAsync(context, 200, "<html>maintenance</html>"),
            _ => JsonAsync(context, 200, """{"reject":{"status":302,"message":"elsewhere"}}"""),
        };
        var data = Data(100);

        try
        {
            using var ietf = await bridge.Client.SendAsync(IetfCreation(data));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ietf.StatusCode);
            Assert.Equal("5", Header(ietf, "Retry-After"));
            Assert.Equal("application/problem+json", ietf.Content.Headers.ContentType?.MediaType);

            using var tus = await bridge.Client.SendAsync(TusCreation(data, "a.txt"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, tus.StatusCode);
            Assert.Equal("5", Header(tus, "Retry-After"));
            Assert.Equal("1.0.0", Header(tus, "Tus-Resumable"));

            using var chunk = await bridge.Client.SendAsync(ResumableChunks.Chunk(
                "uploads/files", ResumableChunks.Fields("resumable", "100-a", 1, 100, data.Length, "a.txt"), data, ChunkMode.Octet));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, chunk.StatusCode);
            Assert.Equal("5", Header(chunk, "Retry-After"));
        }
        finally
        {
            hold.TrySetResult();
        }

        Assert.Empty(bridge.Files());
        var expected = failure is "not json" or "reject with 302" ? EventIds.Hooks.WebhookInvalidAnswer : EventIds.Hooks.WebhookFailed;
        Assert.Equal(3, bridge.LoggedIds.Count(id => id == expected));
    }

    [Fact]
    public async Task In_process_hooks_added_on_the_builder_run_after_the_configured_webhook_and_see_its_decision()
    {
        var seen = new List<StorageBridge.Hooks.UploadCreationContext>();
        await using var bridge = await HookedBridge.StartAsync(bridge: b => b
            .AddUploadCreationHook(new DelegateHook(c =>
            {
                seen.Add(c);
                return StorageBridge.Hooks.UploadCreationDecision.Accept(c.ObjectKey + ".checked");
            }))
            .AddUploadCreationHook<RefuseEmptyFiles>());
        bridge.Answer = (_, context) => JsonAsync(context, 200, """{"objectKey":"from-webhook"}""");

        using var accepted = await bridge.Client.SendAsync(TusCreation(Data(10), "a.txt"));
        using var refused = await bridge.Client.SendAsync(TusCreation([], "empty.txt"));

        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        Assert.Equal("from-webhook", seen[0].ObjectKey);
        Assert.True(File.Exists(Path.Combine(bridge.Root, "in", "from-webhook.checked")));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal("Empty files are not accepted.\n", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public void A_short_secret_stops_start_up_naming_the_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StorageBridge:Hooks:PreCreate:Url"] = "http://127.0.0.1:9/hook",
            ["StorageBridge:Hooks:PreCreate:Secret"] = "too-short",
        }).Build();

        var error = Assert.Throws<StorageBridgeConfigurationException>(() => new ServiceCollection().AddStorageBridge(configuration));
        Assert.Equal("StorageBridge:Hooks:PreCreate:Secret", error.Key);
    }

    private sealed class DelegateHook(Func<StorageBridge.Hooks.UploadCreationContext, StorageBridge.Hooks.UploadCreationDecision> decide)
        : StorageBridge.Hooks.IUploadCreationHook
    {
        public ValueTask<StorageBridge.Hooks.UploadCreationDecision> OnCreatingAsync(StorageBridge.Hooks.UploadCreationContext creation, CancellationToken cancellationToken) =>
            ValueTask.FromResult(decide(creation));
    }

    private sealed class RefuseEmptyFiles : StorageBridge.Hooks.IUploadCreationHook
    {
        public ValueTask<StorageBridge.Hooks.UploadCreationDecision> OnCreatingAsync(StorageBridge.Hooks.UploadCreationContext creation, CancellationToken cancellationToken) =>
            ValueTask.FromResult(creation.Length == 0
                ? StorageBridge.Hooks.UploadCreationDecision.Reject(422, "Empty files are not accepted.")
                : StorageBridge.Hooks.UploadCreationDecision.Accept());
    }

    private static async Task<string> PartialAsync(HookedBridge bridge, byte[] data)
    {
        using var request = TusCreation(data, "part.bin");
        request.Headers.TryAddWithoutValidation("Upload-Concat", "partial");
        using var response = await bridge.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return response.Headers.Location!.ToString();
    }

    private static HttpRequestMessage IetfCreation(byte[] data)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "uploads/files") { Content = new ByteArrayContent(data) };
        request.Headers.TryAddWithoutValidation("Upload-Draft-Interop-Version", "6");
        request.Headers.TryAddWithoutValidation("Upload-Complete", "?1");
        return request;
    }

    private static HttpRequestMessage TusCreation(byte[] data, string fileName)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "uploads/files") { Content = new ByteArrayContent(data) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        request.Headers.Add("Tus-Resumable", "1.0.0");
        request.Headers.TryAddWithoutValidation("Upload-Length", data.Length.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("Upload-Metadata", "filename " + Convert.ToBase64String(Encoding.UTF8.GetBytes(fileName)));
        return request;
    }

    private static Dictionary<string, string?> Json(ReceivedHook received)
    {
        using var json = JsonDocument.Parse(received.Body);
        return json.RootElement.EnumerateObject()
            .Where(p => p.Value.ValueKind is JsonValueKind.String or JsonValueKind.Array)
            .ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText());
    }

    private static Task JsonAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body, context.RequestAborted);
    }

    private static Task NoContentAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private static byte[] Data(int length, int seed = 7)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
