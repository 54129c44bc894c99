using System.Globalization;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>
/// The built Host as an OS process with a GCS target (SQLite metadata), killed with SIGKILL and restarted: the upload
/// resumes from the offset HEAD reports, and the object in the emulator equals the source by sha-256 with GCS's own
/// md5Hash and crc32c matching. The host reaches the emulator through <see cref="GcsSessionProxy"/>, which can hold a
/// chunk's answer so the kill lands exactly between "GCS persisted the chunk" and "the record says so".
/// </summary>
public sealed class GcsCrashTests(GcsEmulatorHost emulator, ITestOutputHelper output) : IClassFixture<GcsEmulatorHost>
{
    private const int MiB = 1024 * 1024;
    private const long Size = (11L * MiB) + 321;
    private const ulong Seed = 0x6C5C4A5UL;
    private static readonly ContentHashes Source = SourceHashes();

    [Fact(Timeout = 180_000)]
    public async Task Kill_between_an_accepted_chunk_and_its_metadata_write_then_restart_re_sends_it_without_duplication()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var proxy = await GcsSessionProxy.StartAsync(emulator.BaseUri);
        await using var host = await StartHostAsync(proxy, cts.Token);

        Uri upload;
        using (var client = Client(host))
        {
            upload = await CreateAsync(client, cts.Token);
            long offset = await AppendAsync(client, upload, 0, 3 * MiB, cts.Token);

            // The next append's first chunk [3 MiB, 4 MiB) is persisted by GCS; the host never hears back, and dies.
            proxy.HoldNextChunk(range => range.StartsWith("bytes 3145728-", StringComparison.Ordinal));
            var pending = AppendAsync(client, upload, offset, 4 * MiB, cts.Token);
            Assert.Equal("bytes 3145728-4194303/*", await proxy.ChunkAcceptedAndHeld.Task.WaitAsync(TimeSpan.FromSeconds(60), cts.Token));
            host.Kill();
            await Assert.ThrowsAnyAsync<Exception>(() => pending);
        }

        int beforeRestart = proxy.ContentRanges.Count;
        await host.RestartAsync(cts.Token);
        using (var client = Client(host))
        {
            long offset = await HeadOffsetAsync(client, upload, cts.Token);
            Assert.Equal(3 * MiB, offset); // GCS holds 4 MiB; only what the record acknowledged is reported
            while (offset < Size)
            {
                offset = await AppendAsync(client, upload, offset, 4 * MiB, cts.Token);
            }
        }

        // After the restart: the status query first (reconciliation), then the chunk GCS already had, sent again.
        var resumed = proxy.ContentRanges.Skip(beforeRestart).ToList();
        output.WriteLine(string.Join(Environment.NewLine, resumed));
        Assert.Equal(["bytes */*", "bytes 3145728-4194303/*"], resumed.Take(2));
        await ContentHashes.AssertObjectAsync(emulator, KeyOf(upload), Source, cts.Token);
    }

    [Fact(Timeout = 180_000)]
    public async Task Kill_after_the_final_chunk_completed_the_object_then_restart_completes_the_upload()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var proxy = await GcsSessionProxy.StartAsync(emulator.BaseUri);
        await using var host = await StartHostAsync(proxy, cts.Token);

        Uri upload;
        string total = "/" + Size.ToString(CultureInfo.InvariantCulture);
        using (var client = Client(host))
        {
            upload = await CreateAsync(client, cts.Token);
            long offset = await AppendAsync(client, upload, 0, 4 * MiB, cts.Token);
            offset = await AppendAsync(client, upload, offset, 4 * MiB, cts.Token);

            // The last append's final chunk makes GCS finalize the object; the host dies before it records anything.
            proxy.HoldNextChunk(range => range.EndsWith(total, StringComparison.Ordinal));
            var pending = AppendAsync(client, upload, offset, Size - offset, cts.Token);
            await proxy.ChunkAcceptedAndHeld.Task.WaitAsync(TimeSpan.FromSeconds(60), cts.Token);
            host.Kill();
            await Assert.ThrowsAnyAsync<Exception>(() => pending);
        }

        // The object already exists in GCS while the record still says 8 MiB.
        await ContentHashes.AssertObjectAsync(emulator, KeyOf(upload), Source, cts.Token);
        await host.RestartAsync(cts.Token);
        using (var client = Client(host))
        {
            long offset = await HeadOffsetAsync(client, upload, cts.Token);
            Assert.Equal(8 * MiB, offset);
            Assert.Equal(Size, await AppendAsync(client, upload, offset, Size - offset, cts.Token)); // 200, Upload-Complete ?1
        }

        await ContentHashes.AssertObjectAsync(emulator, KeyOf(upload), Source, cts.Token);
    }

    [Fact(Timeout = 180_000)]
    public async Task Kill_during_a_PATCH_body_then_restart_resumes_from_a_consistent_offset()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var proxy = await GcsSessionProxy.StartAsync(emulator.BaseUri);
        await using var host = await StartHostAsync(proxy, cts.Token);

        Uri upload;
        long acknowledged;
        long sent;
        using (var client = Client(host))
        {
            upload = await CreateAsync(client, cts.Token);
            acknowledged = await AppendAsync(client, upload, 0, (2 * MiB) + 1000, cts.Token); // two chunks + a staged tail

            // 6 MiB announced, 2 MiB + 4321 sent (two more chunks with the tail), then the host is killed under it.
            sent = await IetfUploadRequests.KillHostDuringPatchAsync(client, host, upload, Seed, acknowledged, 6 * MiB, (2 * MiB) + 4321, cts.Token);
        }

        await host.RestartAsync(cts.Token);
        using (var client = Client(host))
        {
            long offset = await HeadOffsetAsync(client, upload, cts.Token);
            output.WriteLine($"offset after restart: {offset} (acknowledged {acknowledged}, sent {acknowledged + sent})");
            Assert.InRange(offset, acknowledged, acknowledged + sent);
            while (offset < Size)
            {
                offset = await AppendAsync(client, upload, offset, 4 * MiB, cts.Token);
            }
        }

        await ContentHashes.AssertObjectAsync(emulator, KeyOf(upload), Source, cts.Token);
    }

    private static ContentHashes SourceHashes()
    {
        byte[] source = new byte[Size];
        DeterministicData.Fill(Seed, 0, source);
        return ContentHashes.Of(source);
    }

    private static string KeyOf(Uri upload) => "crash/" + upload.Segments[^1];

    private async Task<HostProcess> StartHostAsync(GcsSessionProxy proxy, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string?>
        {
            ["StorageBridge__Targets__crash__Backend"] = "Gcs",
            ["StorageBridge__Targets__crash__Bucket"] = emulator.Bucket,
            ["StorageBridge__Targets__crash__BaseUri"] = proxy.BaseUri.ToString(),
            ["StorageBridge__Targets__crash__PartSize"] = "1MiB",
            ["StorageBridge__Targets__crash__KeyTemplate"] = "crash/{id}",
            ["StorageBridge__TakeoverWait"] = "1s",
            ["StorageBridge__LeaseDuration"] = "4s", // the killed instance's lease lapses quickly after restart
        };
        return await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, OutputSink = output.WriteLine, LogLevel = "Information" }, cancellationToken);
    }

    private static HttpClient Client(HostProcess host) =>
        new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

    private static Task<Uri> CreateAsync(HttpClient client, CancellationToken cancellationToken) =>
        IetfUploadRequests.CreateAsync(client, "uploads/crash", Size, cancellationToken);

    private static Task<long> AppendAsync(HttpClient client, Uri upload, long offset, long length, CancellationToken cancellationToken) =>
        IetfUploadRequests.AppendAsync(client, upload, Seed, offset, length, Size, cancellationToken);

    private static Task<long> HeadOffsetAsync(HttpClient client, Uri upload, CancellationToken cancellationToken) =>
        IetfUploadRequests.HeadOffsetAsync(client, upload, cancellationToken);
}
