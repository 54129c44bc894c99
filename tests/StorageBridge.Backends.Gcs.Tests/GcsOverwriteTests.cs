using System.Net;
using System.Net.Http.Headers;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>
/// <c>AllowOverwrite: false</c> on a GCS target: sessions carry ifGenerationMatch=0, which GCS checks at initiation and
/// at finalize. An object that another writer put under the upload's key is never replaced and the client gets 409,
/// never a 500 (initiation against an existing object: <see cref="GcsBackendFaultTests"/>).
/// </summary>
public sealed class GcsOverwriteTests(GcsEmulatorHost emulator) : IClassFixture<GcsEmulatorHost>
{
    private readonly CancellationTokenSource timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => timeout.Token;

    [Fact]
    public async Task Object_appearing_during_the_upload_is_not_replaced_at_the_final_chunk()
    {
        await using var server = await StartAsync();
        byte[] source = new byte[700_000];
        new Random(7).NextBytes(source);
        using HttpResponseMessage created = await CreateAsync(server, source.AsSpan(0, 300_000).ToArray(), complete: false);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        // Keys carry the upload id, so only a writer outside the bridge can take the key meanwhile.
        string key = "fixed/" + created.Headers.Location!.OriginalString.Split('/')[^1];
        byte[] other = [9, 8, 7];
        await emulator.Client.UploadObjectAsync(emulator.Bucket, key, null, new MemoryStream(other), cancellationToken: Ct);

        using var patch = new HttpRequestMessage(HttpMethod.Patch, created.Headers.Location) { Content = new ByteArrayContent(source, 300_000, 400_000) };
        patch.Headers.Add("Upload-Draft-Interop-Version", "8");
        patch.Headers.Add("Upload-Offset", "300000");
        patch.Headers.Add("Upload-Complete", "?1");
        patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        using HttpResponseMessage completed = await server.Client.SendAsync(patch, Ct);
        Assert.Equal(HttpStatusCode.Conflict, completed.StatusCode);
        await ContentHashes.AssertObjectAsync(emulator, key, ContentHashes.Of(other), Ct);
    }

    private Task<GcsBridgeServer> StartAsync() =>
        GcsBridgeServer.StartAsync(emulator, new Dictionary<string, string?>
        {
            ["AllowOverwrite"] = "false",
            ["KeyTemplate"] = "fixed/{id}",
        });

    private async Task<HttpResponseMessage> CreateAsync(GcsBridgeServer server, byte[] body, bool complete)
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/gcs") { Content = new ByteArrayContent(body) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", complete ? "?1" : "?0");
        if (!complete)
        {
            create.Headers.Add("Upload-Length", "700000");
        }

        return await server.Client.SendAsync(create, Ct);
    }
}
