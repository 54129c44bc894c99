using System.Net;
using System.Security.Cryptography;
using System.Text;
using Google.Apis.Http;
using Google.Cloud.Storage.V1;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>
/// The object GCS answers the finalizing chunk (or the finalize) with is checked before the upload counts as complete:
/// this upload's key, a generation, the upload's id in the object's metadata (set when the session started) and the
/// upload's size. An answer about another object, rewritten in the official client's HTTP pipeline, and a foreign
/// object found under the key after the session vanished are both refused; the real answer then completes it.
/// </summary>
public sealed class GcsForeignObjectTests(GcsEmulatorHost emulator) : IClassFixture<GcsEmulatorHost>
{
    private const int Quantum = GcsBackend.ChunkGranularity;

    [Fact]
    public async Task An_answer_about_a_foreign_object_does_not_complete_the_upload()
    {
        var rewriter = new AnswerRewriter();
        using var backend = NewBackend(rewriter);
        byte[] source = Bytes(Quantum + 321);
        BackendUpload upload = await StartAsync(backend);

        // Another writer's object of the same size under another key: its JSON replaces the answers below.
        string foreignKey = "foreign/" + Guid.NewGuid().ToString("N");
        var foreign = await emulator.Client.UploadObjectAsync(emulator.Bucket, foreignKey, "application/octet-stream", new MemoryStream(Bytes(source.Length)));
        rewriter.Replacement = Encoding.UTF8.GetBytes(
            $$"""{"kind":"storage#object","bucket":"{{emulator.Bucket}}","name":"{{upload.ObjectKey}}","generation":"{{foreign.Generation}}","size":"{{source.Length}}","crc32c":"{{foreign.Crc32c}}"}""");

        var chunk = await Assert.ThrowsAsync<StorageBackendException>(() => backend.WriteAsync(upload, 0, source, CancellationToken.None));
        Assert.False(chunk.IsTransient);
        Assert.Contains("foreignObject", chunk.Message, StringComparison.Ordinal);
        upload = upload with { Offset = source.Length };
        await Assert.ThrowsAsync<StorageBackendException>(() => backend.CompleteAsync(upload, CancellationToken.None));
        Assert.Equal(2, rewriter.Rewritten);

        // The session's own answer completes it: this upload's object, byte-exact.
        rewriter.Replacement = null;
        StoredObject stored = await backend.CompleteAsync(upload, CancellationToken.None);
        Assert.Equal(source.Length, stored.Length);
        Assert.NotEqual(foreign.Generation?.ToString(System.Globalization.CultureInfo.InvariantCulture), stored.ETag);
        await AssertStoredAsync(upload.ObjectKey, source);
    }

    [Fact]
    public async Task A_foreign_object_of_the_same_size_under_the_key_is_not_adopted_when_the_session_is_gone()
    {
        using var backend = NewBackend(new AnswerRewriter());
        byte[] source = Bytes(2 * Quantum);
        BackendUpload upload = await StartAsync(backend);
        await backend.WriteAsync(upload, 0, source.AsMemory(0, Quantum), CancellationToken.None);
        await backend.AbortAsync(upload, CancellationToken.None); // the session is gone (cancelled outside the upload)
        await emulator.Client.UploadObjectAsync(emulator.Bucket, upload.ObjectKey, "application/octet-stream", new MemoryStream(Bytes(source.Length)));

        upload = upload with { Offset = source.Length };
        var e = await Assert.ThrowsAsync<StorageBackendException>(() => backend.CompleteAsync(upload, CancellationToken.None));
        Assert.Contains("foreignObject", e.Message, StringComparison.Ordinal);
    }

    private GcsBackend NewBackend(AnswerRewriter rewriter)
    {
        StorageClient client = new StorageClientBuilder
        {
            BaseUri = emulator.BaseUri,
            UnauthenticatedAccess = true,
            HttpClientFactory = new RewritingHttpClientFactory(rewriter),
        }.Build();
        return new GcsBackend(client, new GcsBackendOptions { Bucket = emulator.Bucket, PartSize = Quantum }, ownsClient: true);
    }

    private static async Task<BackendUpload> StartAsync(GcsBackend backend)
    {
        var upload = new BackendUpload
        {
            Id = UploadIds.New(),
            ObjectKey = "foreign-answer/" + Guid.NewGuid().ToString("N"),
            ContentType = "application/octet-stream",
        };
        return upload with { Session = await backend.StartAsync(upload, CancellationToken.None) };
    }

    private async Task AssertStoredAsync(string key, byte[] source)
    {
        var downloaded = new MemoryStream();
        await emulator.Client.DownloadObjectAsync(emulator.Bucket, key, downloaded);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(source)), Convert.ToHexString(SHA256.HashData(downloaded.ToArray())));
    }

    private static byte[] Bytes(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }

    private sealed class RewritingHttpClientFactory(AnswerRewriter rewriter) : HttpClientFactory
    {
        protected override HttpMessageHandler CreateHandler(CreateHttpClientArgs args)
        {
            rewriter.InnerHandler = base.CreateHandler(args);
            return rewriter;
        }
    }

    /// <summary>Replaces the body of every 200 a resumable session request (a PUT to the session URI) gets, while <see cref="Replacement"/> is set.</summary>
    private sealed class AnswerRewriter : DelegatingHandler
    {
        public volatile byte[]? Replacement;

        public int Rewritten { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
            bool session = request.Method == HttpMethod.Put && request.RequestUri?.Query.Contains("upload_id", StringComparison.Ordinal) == true;
            if (session && response.StatusCode == HttpStatusCode.OK && Replacement is { } body)
            {
                Rewritten++;
                response.Content.Dispose();
                response.Content = new ByteArrayContent(body);
                response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            }

            return response;
        }
    }
}
