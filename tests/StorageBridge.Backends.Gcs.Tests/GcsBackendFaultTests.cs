using System.Net;
using System.Security.Cryptography;
using Google.Apis.Http;
using Google.Cloud.Storage.V1;
using StorageBridge.GcsEmulator;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>
/// Faults injected into the official client's own HTTP pipeline (a handler under Service.HttpClient), some carried
/// out by the emulator: GCS confirming fewer bytes than a chunk had, a 503 on a chunk, a connection reset in the middle
/// of a chunk's body, and a final chunk whose answer is lost after GCS finalized the object.
/// </summary>
public sealed class GcsBackendFaultTests(GcsEmulatorHost emulator) : IClassFixture<GcsEmulatorHost>
{
    private const int Quantum = GcsBackend.ChunkGranularity;

    [Fact]
    public async Task Short_308_is_re_sent_from_where_GCS_stopped()
    {
        var injector = new InstructionInjector("short-308", times: 1);
        using var backend = NewBackend(injector);
        byte[] source = Bytes((3 * Quantum) + 99);
        BackendUpload upload = await StartAsync(backend);

        await backend.WriteAsync(upload, 0, source.AsMemory(0, 3 * Quantum), CancellationToken.None);
        Assert.Equal(1, injector.Injected);
        // The emulator kept 512 KiB of the first 768 KiB chunk: the backend sent the last 256 KiB again.
        Assert.Equal(["bytes 0-786431/*", "bytes 524288-786431/*"], injector.ChunkRanges);
        upload = upload with { Offset = 3 * Quantum };

        await backend.WriteAsync(upload, 3 * Quantum, source.AsMemory(3 * Quantum), CancellationToken.None);
        upload = upload with { Offset = source.Length };
        StoredObject stored = await backend.CompleteAsync(upload, CancellationToken.None);

        Assert.Equal(source.Length, stored.Length);
        await AssertStoredAsync(upload.ObjectKey, source);
    }

    [Fact]
    public async Task Chunk_answered_503_is_retried_by_the_client_pipeline()
    {
        var injector = new InstructionInjector("return-503", times: 1);
        using var backend = NewBackend(injector);
        byte[] source = Bytes(Quantum + 5);
        BackendUpload upload = await StartAsync(backend);

        await backend.WriteAsync(upload, 0, source, CancellationToken.None);
        upload = upload with { Offset = source.Length };
        StoredObject stored = await backend.CompleteAsync(upload, CancellationToken.None);

        Assert.Equal(1, injector.Injected);
        Assert.Equal(["bytes 0-262148/262149", "bytes 0-262148/262149"], injector.ChunkRanges);
        Assert.Equal(source.Length, stored.Length);
        await AssertStoredAsync(upload.ObjectKey, source);
    }

    [Fact]
    public async Task Connection_reset_mid_chunk_resumes_from_what_GCS_kept()
    {
        // The first chunk's body breaks off after 1.5 units: the emulator keeps the whole unit it received.
        var injector = new InstructionInjector(instruction: null, times: 1) { ResetAfterBytes = Quantum + (Quantum / 2) };
        using var backend = NewBackend(injector);
        byte[] source = Bytes((3 * Quantum) + 1234);
        BackendUpload upload = await StartAsync(backend);

        await backend.WriteAsync(upload, 0, source.AsMemory(0, 3 * Quantum), CancellationToken.None);
        Assert.Equal(1, injector.Injected);
        Assert.Equal(["bytes 0-786431/*", "bytes 262144-786431/*"], injector.ChunkRanges);
        upload = upload with { Offset = 3 * Quantum };

        await backend.WriteAsync(upload, 3 * Quantum, source.AsMemory(3 * Quantum), CancellationToken.None);
        upload = upload with { Offset = source.Length };
        StoredObject stored = await backend.CompleteAsync(upload, CancellationToken.None);
        Assert.Equal(source.Length, stored.Length);
        await AssertStoredAsync(upload.ObjectKey, source);
    }

    [Fact]
    public async Task Chunk_re_sending_persisted_bytes_goes_on_from_what_GCS_holds_when_the_overlap_is_refused()
    {
        // GCS persisted [0, 512 KiB) but the record never learned (a crash): the append is written again from 0.
        var injector = new InstructionInjector("reject-overlap", times: 2) { SkipFirst = 1 };
        using var backend = NewBackend(injector);
        byte[] source = Bytes((3 * Quantum) + 10);
        BackendUpload upload = await StartAsync(backend);
        await backend.WriteAsync(upload, 0, source.AsMemory(0, 2 * Quantum), CancellationToken.None);

        await backend.WriteAsync(upload, 0, source.AsMemory(0, 3 * Quantum), CancellationToken.None);
        Assert.Equal(["bytes 0-524287/*", "bytes 0-786431/*", "bytes 524288-786431/*"], injector.ChunkRanges);
        upload = upload with { Offset = 3 * Quantum };
        await backend.WriteAsync(upload, 3 * Quantum, source.AsMemory(3 * Quantum), CancellationToken.None);
        upload = upload with { Offset = source.Length };
        await backend.CompleteAsync(upload, CancellationToken.None);
        await AssertStoredAsync(upload.ObjectKey, source);
    }

    [Fact]
    public async Task Final_chunk_reset_after_GCS_finalized_is_answered_by_the_object()
    {
        // The whole final chunk reaches GCS (it finalizes the object), then the answer is lost: the backend's status
        // query finds the object and the part counts as written, once.
        var injector = new InstructionInjector(instruction: null, times: 1) { LoseAnswer = true };
        using var backend = NewBackend(injector);
        byte[] source = Bytes(Quantum + 77);
        BackendUpload upload = await StartAsync(backend);

        await backend.WriteAsync(upload, 0, source, CancellationToken.None);
        upload = upload with { Offset = source.Length };
        StoredObject stored = await backend.CompleteAsync(upload, CancellationToken.None);
        Assert.Equal(1, injector.Injected);
        Assert.Equal(source.Length, stored.Length);
        await AssertStoredAsync(upload.ObjectKey, source);
    }

    [Fact]
    public async Task Status_queries_and_finalize_whose_answers_are_lost_are_asked_again()
    {
        // Every session query's first answer is lost after GCS handled it (a dropped keep-alive connection): the
        // finalize, the status query and the cancel are asked again and give the answer GCS would have given.
        var injector = new InstructionInjector(instruction: null, times: 0) { LoseFirstAnswerOf = ["bytes */*", "bytes */524299", "DELETE"] };
        using var backend = NewBackend(injector);
        byte[] source = Bytes((2 * Quantum) + 11);
        BackendUpload upload = await StartAsync(backend);

        await backend.WriteAsync(upload, 0, source.AsMemory(0, 2 * Quantum), CancellationToken.None);
        Assert.Equal(new GcsSessionState(2 * Quantum, null), await backend.QuerySessionAsync(upload, CancellationToken.None));
        upload = upload with { Offset = 2 * Quantum };
        await backend.WriteAsync(upload, 2 * Quantum, source.AsMemory(2 * Quantum), CancellationToken.None);
        upload = upload with { Offset = source.Length };
        StoredObject stored = await backend.CompleteAsync(upload, CancellationToken.None);
        Assert.Equal(source.Length, stored.Length);
        await AssertStoredAsync(upload.ObjectKey, source);

        BackendUpload cancelled = await StartAsync(backend);
        await backend.AbortAsync(cancelled, CancellationToken.None);
        Assert.Null(await backend.QuerySessionAsync(cancelled, CancellationToken.None));
        Assert.Empty(injector.LoseFirstAnswerOf);
        string queries = string.Join(", ", injector.SessionQueries);
        Assert.True(queries == "bytes */*, bytes */*, bytes */524299, bytes */524299, DELETE, DELETE, bytes */*", queries);
    }

    [Fact]
    public async Task Overwrite_disallowed_makes_the_session_precondition_fail_with_412()
    {
        using var backend = new GcsBackend(emulator.NewClient(), new GcsBackendOptions { Bucket = emulator.Bucket, AllowOverwrite = false }, ownsClient: true);
        string key = "no-overwrite/" + Guid.NewGuid().ToString("N");
        await emulator.Client.UploadObjectAsync(emulator.Bucket, key, null, new MemoryStream([1, 2, 3]));

        var e = await Assert.ThrowsAsync<ObjectExistsException>(() => StartAsync(backend, key));
        Assert.Equal(HttpStatusCode.PreconditionFailed, Assert.IsType<Google.GoogleApiException>(e.InnerException).HttpStatusCode);
    }

    [Fact]
    public async Task Session_query_reports_unrecorded_bytes_completion_and_cancel()
    {
        using var backend = new GcsBackend(emulator.NewClient(), new GcsBackendOptions { Bucket = emulator.Bucket, PartSize = Quantum }, ownsClient: true);
        byte[] source = Bytes((2 * Quantum) + 7);
        BackendUpload upload = await StartAsync(backend);
        Assert.Equal(new GcsSessionState(0, null), await backend.QuerySessionAsync(upload, CancellationToken.None));

        // A crash after GCS confirmed the chunk but before the record was written: the record still says 0.
        await backend.WriteAsync(upload, 0, source.AsMemory(0, 2 * Quantum), CancellationToken.None);
        Assert.Equal(new GcsSessionState(2 * Quantum, null), await backend.QuerySessionAsync(upload, CancellationToken.None));

        // The session goes on from what it holds (the coordinator re-sends from the record's offset instead: GcsCrashTests).
        upload = upload with { Offset = 2 * Quantum };
        await backend.WriteAsync(upload, 2 * Quantum, source.AsMemory(2 * Quantum), CancellationToken.None);
        upload = upload with { Offset = source.Length };
        StoredObject stored = await backend.CompleteAsync(upload, CancellationToken.None);
        GcsSessionState? completed = await backend.QuerySessionAsync(upload, CancellationToken.None);
        Assert.Equal(source.Length, completed?.Persisted);
        Assert.Equal(stored, completed?.Completed);
        await AssertStoredAsync(upload.ObjectKey, source);

        BackendUpload cancelled = await StartAsync(backend);
        await backend.AbortAsync(cancelled, CancellationToken.None);
        Assert.Null(await backend.QuerySessionAsync(cancelled, CancellationToken.None));
    }

    private GcsBackend NewBackend(InstructionInjector injector)
    {
        StorageClient client = new StorageClientBuilder
        {
            BaseUri = emulator.BaseUri,
            UnauthenticatedAccess = true,
            HttpClientFactory = new InjectingHttpClientFactory(injector),
        }.Build();
        return new GcsBackend(client, new GcsBackendOptions { Bucket = emulator.Bucket, PartSize = Quantum }, ownsClient: true);
    }

    private static async Task<BackendUpload> StartAsync(GcsBackend backend, string? key = null)
    {
        var upload = new BackendUpload
        {
            Id = UploadIds.New(),
            ObjectKey = key ?? "faults/" + Guid.NewGuid().ToString("N"),
            ContentType = "application/octet-stream",
        };
        return upload with { Session = await backend.StartAsync(upload, CancellationToken.None) };
    }

    private async Task AssertStoredAsync(string key, byte[] source)
    {
        var downloaded = new MemoryStream();
        await emulator.Client.DownloadObjectAsync(emulator.Bucket, key, downloaded);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(source)), Convert.ToHexString(SHA256.HashData(downloaded.ToArray())));
        var stored = await emulator.Client.GetObjectAsync(emulator.Bucket, key);
        Assert.Equal(Convert.ToBase64String(MD5.HashData(source)), stored.Md5Hash);
    }

    private static byte[] Bytes(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }

    private sealed class InjectingHttpClientFactory(InstructionInjector injector) : HttpClientFactory
    {
        protected override HttpMessageHandler CreateHandler(CreateHttpClientArgs args)
        {
            injector.InnerHandler = base.CreateHandler(args);
            return injector;
        }
    }

    /// <summary>
    /// Faults for the first <paramref name="times"/> data chunks, in the client's HTTP pipeline: the emulator's
    /// instruction header, a body that breaks off after <see cref="ResetAfterBytes"/> (the connection is torn down), or
    /// an answer lost after the whole chunk arrived (<see cref="LoseAnswer"/>). Records every chunk's Content-Range.
    /// </summary>
    private sealed class InstructionInjector(string? instruction, int times) : DelegatingHandler
    {
        private int remaining = times;

        public int Injected { get; private set; }

        public List<string> ChunkRanges { get; } = [];

        public int? ResetAfterBytes { get; init; }

        /// <summary>Data chunks to let through untouched before the faults start.</summary>
        public int SkipFirst { get; init; }

        public bool LoseAnswer { get; init; }

        /// <summary>Status queries and finalizes (by Content-Range) and cancels ("DELETE") whose first answer is lost after the emulator handled them.</summary>
        public HashSet<string> LoseFirstAnswerOf { get; init; } = [];

        /// <summary>Content-Range of every status query and finalize ("DELETE" for a cancel), in order.</summary>
        public List<string> SessionQueries { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string? query = request.Method == HttpMethod.Delete && request.RequestUri?.Query.Contains("upload_id", StringComparison.Ordinal) == true
                ? "DELETE"
                : request.Content?.Headers.TryGetValues("Content-Range", out var ranges) == true && ranges.Single() is { } r && r.StartsWith("bytes */", StringComparison.Ordinal) ? r : null;
            if (query is not null)
            {
                SessionQueries.Add(query);
                HttpResponseMessage answered = await base.SendAsync(request, cancellationToken);
                if (LoseFirstAnswerOf.Remove(query))
                {
                    answered.Dispose();
                    throw new HttpRequestException(HttpRequestError.ResponseEnded, "Injected: the response ended prematurely.");
                }

                return answered;
            }

            bool inject = false;
            if (request.Method == HttpMethod.Put && request.Content?.Headers.TryGetValues("Content-Range", out var values) == true &&
                values.Single() is { } range && !range.StartsWith("bytes */", StringComparison.Ordinal))
            {
                lock (ChunkRanges)
                {
                    ChunkRanges.Add(range);
                    if (remaining > 0 && ChunkRanges.Count > SkipFirst)
                    {
                        remaining--;
                        Injected++;
                        inject = true;
                    }
                }
            }

            if (!inject)
            {
                return await base.SendAsync(request, cancellationToken);
            }

            if (instruction is not null)
            {
                request.Headers.TryAddWithoutValidation(GcsHandler.InstructionsHeader, instruction);
            }

            HttpContent original = request.Content!;
            if (ResetAfterBytes is int cut)
            {
                request.Content = new BreakingContent(original, cut);
            }

            try
            {
                HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
                if (LoseAnswer)
                {
                    response.Dispose();
                    throw new HttpRequestException("Injected: connection reset before the answer arrived.");
                }

                return response;
            }
            finally
            {
                request.Content = original;
            }
        }
    }

    /// <summary>Sends the first <paramref name="cut"/> bytes of a body, then fails: the request's connection is aborted.</summary>
    private sealed class BreakingContent : HttpContent
    {
        private readonly HttpContent inner;
        private readonly int cut;

        public BreakingContent(HttpContent inner, int cut)
        {
            this.inner = inner;
            this.cut = cut;
            foreach (var (name, values) in inner.Headers)
            {
                Headers.TryAddWithoutValidation(name, values);
            }
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            byte[] body = await inner.ReadAsByteArrayAsync();
            await stream.WriteAsync(body.AsMemory(0, Math.Min(cut, body.Length)));
            await stream.FlushAsync();
            await Task.Delay(200); // let the emulator take in what arrived
            throw new IOException("Injected: connection reset mid-chunk.");
        }

        protected override bool TryComputeLength(out long length)
        {
            length = inner.Headers.ContentLength ?? -1;
            return length >= 0;
        }
    }
}
