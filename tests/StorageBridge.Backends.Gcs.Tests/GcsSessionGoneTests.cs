using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>
/// A GCS session that disappears under an open upload (expired, or cancelled outside the bridge) is a gone upload for
/// the client (410; 404 up to IETF interop 5), never a 500: the record becomes an expired tombstone and its staged tail
/// is deleted. Detected on a chunk (404 from the session) and on the status query after a crash.
/// </summary>
public sealed class GcsSessionGoneTests(GcsEmulatorHost emulator) : IClassFixture<GcsEmulatorHost>, IAsyncLifetime
{
    private const int First = 300_000; // one 256 KiB chunk plus a staged tail
    private readonly HttpClient raw = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly CancellationTokenSource timeout = new(TimeSpan.FromMinutes(2));
    private GcsBridgeServer server = null!;

    private CancellationToken Ct => timeout.Token;

    public async Task InitializeAsync() => server = await GcsBridgeServer.StartAsync(emulator);

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        raw.Dispose();
        timeout.Dispose();
    }

    [Theory]
    [InlineData("ietf-8", HttpStatusCode.Gone)]
    [InlineData("ietf-6", HttpStatusCode.Gone)]
    [InlineData("ietf-5", HttpStatusCode.NotFound)]
    [InlineData("tus", HttpStatusCode.Gone)]
    public async Task Chunk_to_a_deleted_session_answers_gone_and_cleans_the_tail(string protocol, HttpStatusCode expected)
    {
        byte[] source = Source(1_000_000);
        Uri upload = await CreateAsync(protocol, source);
        UploadRecord record = await RecordAsync(upload);
        Assert.NotNull(record.Tail);
        Assert.NotEmpty(emulator.Client.ListObjects(emulator.Bucket, $".staging/{record.Id}/"));
        await DeleteSessionAsync(record);

        // 600,000 more bytes make a chunk at 262,144: GCS answers 404 for the session.
        using HttpResponseMessage appended = await AppendAsync(protocol, upload, source, First, 600_000);
        Assert.Equal(expected, appended.StatusCode);

        using HttpResponseMessage head = await HeadAsync(protocol, upload);
        Assert.Equal(expected, head.StatusCode);
        Assert.False(head.Headers.Contains("Upload-Offset"));
        Assert.Equal(UploadState.Expired, (await RecordAsync(upload)).State);
        Assert.Empty(emulator.Client.ListObjects(emulator.Bucket, $".staging/{record.Id}/"));
    }

    [Fact]
    public async Task After_a_crash_the_status_query_finds_the_session_gone_before_anything_is_written()
    {
        byte[] source = Source(1_000_000);
        Uri upload = await CreateAsync("ietf-8", source);
        UploadRecord record = await RecordAsync(upload);

        // What a killed instance leaves: its lease still in the record (lapsed). The session is then deleted.
        var left = await server.Store.TryReplaceAsync(record with { LeaseOwner = "killed-instance", LeaseUntil = DateTimeOffset.UtcNow.AddSeconds(-1) }, Ct);
        Assert.Equal(Metadata.MetadataWriteStatus.Success, left.Status);
        await DeleteSessionAsync(record);

        // 1,000 bytes would only grow the tail (no chunk): the reconciliation's status query is what sees the 404.
        using HttpResponseMessage appended = await AppendAsync("ietf-8", upload, source, First, 1_000);
        Assert.Equal(HttpStatusCode.Gone, appended.StatusCode);
        Assert.Equal(UploadState.Expired, (await RecordAsync(upload)).State);
        Assert.Empty(emulator.Client.ListObjects(emulator.Bucket, $".staging/{record.Id}/"));
    }

    private static byte[] Source(int size)
    {
        byte[] source = new byte[size];
        new Random(size).NextBytes(source);
        return source;
    }

    private async Task<UploadRecord> RecordAsync(Uri upload) =>
        await server.Store.GetAsync(upload.Segments[^1], Ct) ?? throw new InvalidOperationException("no record");

    /// <summary>Cancels the GCS session behind the bridge's back (as expiry of the session would).</summary>
    private async Task DeleteSessionAsync(UploadRecord record)
    {
        using var delete = new HttpRequestMessage(HttpMethod.Delete, record.Session);
        using HttpResponseMessage deleted = await raw.SendAsync(delete, Ct);
        Assert.Equal(499, (int)deleted.StatusCode);
    }

    private async Task<Uri> CreateAsync(string protocol, byte[] source)
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/gcs");
        if (protocol == "tus")
        {
            create.Headers.Add("Tus-Resumable", "1.0.0");
            create.Headers.Add("Upload-Length", source.Length.ToString(CultureInfo.InvariantCulture));
            create.Content = new ByteArrayContent(source, 0, First);
            create.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        }
        else
        {
            create.Headers.Add("Upload-Draft-Interop-Version", protocol[5..]);
            create.Headers.Add("Upload-Complete", "?0");
            create.Headers.Add("Upload-Length", source.Length.ToString(CultureInfo.InvariantCulture));
            create.Content = new ByteArrayContent(source, 0, First);
        }

        using HttpResponseMessage created = await server.Client.SendAsync(create, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(First.ToString(CultureInfo.InvariantCulture), created.Headers.GetValues("Upload-Offset").Single());
        return new Uri(server.BaseAddress, created.Headers.Location!);
    }

    private async Task<HttpResponseMessage> AppendAsync(string protocol, Uri upload, byte[] source, int offset, int count)
    {
        using var patch = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = new ByteArrayContent(source, offset, count) };
        patch.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        if (protocol == "tus")
        {
            patch.Headers.Add("Tus-Resumable", "1.0.0");
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        }
        else
        {
            patch.Headers.Add("Upload-Draft-Interop-Version", protocol[5..]);
            patch.Headers.Add("Upload-Complete", "?0");
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        }

        return await server.Client.SendAsync(patch, Ct);
    }

    private async Task<HttpResponseMessage> HeadAsync(string protocol, Uri upload)
    {
        using var head = new HttpRequestMessage(HttpMethod.Head, upload);
        head.Headers.Add(protocol == "tus" ? "Tus-Resumable" : "Upload-Draft-Interop-Version", protocol == "tus" ? "1.0.0" : protocol[5..]);
        return await server.Client.SendAsync(head, Ct);
    }
}
