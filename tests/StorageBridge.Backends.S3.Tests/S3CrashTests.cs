using System.Security.Cryptography;
using Amazon.S3;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// The built Host as an OS process with an S3 target (SQLite metadata), killed with SIGKILL and restarted: the upload
/// resumes from the offset HEAD reports and the object in the bucket equals the source by sha-256. The host talks to
/// S3 through <see cref="S3Proxy"/>, which can hold an UploadPart's response so the kill lands exactly between
/// "part stored in S3" and "part recorded in the metadata store".
/// </summary>
[Collection(S3Collection.Name)]
public sealed class S3CrashTests(S3Endpoint endpoint, ITestOutputHelper output)
{
    private const int MiB = 1024 * 1024;
    private const long Size = 23 * MiB + 321;
    private const ulong Seed = 0x53C4A5UL;

    [Fact(Timeout = 180_000)]
    public async Task Kill_between_UploadPart_and_its_metadata_write_then_restart_resumes_without_loss_or_duplication()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var proxy = await S3Proxy.StartAsync(endpoint.ServiceUrl);
        await using var host = await StartHostAsync(proxy, cts.Token);
        using var inspector = endpoint.CreateClient();

        Uri upload;
        using (var client = Client(host))
        {
            upload = await CreateAsync(client, cts.Token);
            var offset = 0L;
            for (var i = 0; i < 6; i++)
            {
                offset = await AppendAsync(client, upload, offset, MiB, cts.Token); // 6 MiB: part 1 (5 MiB) + 1 MiB tail
            }

            Assert.Equal(6 * MiB, offset);

            // The next 4 MiB make part 2 (1 MiB tail + 4 MiB): S3 stores it, the host never learns, and dies.
            proxy.HoldNextUploadPart();
            var pending = AppendAsync(client, upload, offset, 4 * MiB, cts.Token);
            var held = await proxy.PartStoredAndHeld.Task.WaitAsync(TimeSpan.FromSeconds(60), cts.Token);
            Assert.Equal("2", held);
            host.Kill();
            await Assert.ThrowsAnyAsync<Exception>(() => pending);
        }

        await host.RestartAsync(cts.Token);
        using (var client = Client(host))
        {
            var offset = await HeadOffsetAsync(client, upload, cts.Token);
            output.WriteLine($"offset after restart: {offset}");
            Assert.Equal(6 * MiB, offset); // part 2 was never recorded: the durable offset is where it was

            while (offset < Size)
            {
                offset = await AppendAsync(client, upload, offset, 4 * MiB, cts.Token);
            }
        }

        // Part 2 was written again under the same number: exactly the source, nothing duplicated.
        var key = endpoint.RunPrefix + "crash/" + upload.Segments[^1];
        using var response = await inspector.GetObjectAsync(endpoint.Bucket, key, cts.Token);
        Assert.Equal(Size, response.ContentLength);
        using var sha = SHA256.Create();
        Assert.Equal(DeterministicData.Sha256(Seed, Size), Convert.ToHexStringLower(await sha.ComputeHashAsync(response.ResponseStream, cts.Token)));
    }

    [Fact(Timeout = 180_000)]
    public async Task Kill_during_a_PATCH_body_then_restart_resumes_from_a_consistent_offset()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var proxy = await S3Proxy.StartAsync(endpoint.ServiceUrl);
        await using var host = await StartHostAsync(proxy, cts.Token);
        using var inspector = endpoint.CreateClient();

        Uri upload;
        long acknowledged;
        long sent;
        using (var client = Client(host))
        {
            upload = await CreateAsync(client, cts.Token);
            acknowledged = await AppendAsync(client, upload, 0, 3 * MiB, cts.Token);
            acknowledged = await AppendAsync(client, upload, acknowledged, 4 * MiB, cts.Token); // part 1 + 2 MiB tail

            // 8 MiB announced, 3 MiB + 4321 sent (a part's worth with the tail), then the host is killed under it.
            sent = await IetfUploadRequests.KillHostDuringPatchAsync(client, host, upload, Seed, acknowledged, 8 * MiB, (3 * MiB) + 4321, cts.Token);
        }

        await host.RestartAsync(cts.Token);
        using (var client = Client(host))
        {
            var offset = await HeadOffsetAsync(client, upload, cts.Token);
            output.WriteLine($"offset after restart: {offset} (acknowledged {acknowledged}, sent {acknowledged + sent})");
            Assert.InRange(offset, acknowledged, acknowledged + sent);
            while (offset < Size)
            {
                offset = await AppendAsync(client, upload, offset, 4 * MiB, cts.Token);
            }
        }

        var key = endpoint.RunPrefix + "crash/" + upload.Segments[^1];
        using var response = await inspector.GetObjectAsync(endpoint.Bucket, key, cts.Token);
        Assert.Equal(Size, response.ContentLength);
        using var sha = SHA256.Create();
        Assert.Equal(DeterministicData.Sha256(Seed, Size), Convert.ToHexStringLower(await sha.ComputeHashAsync(response.ResponseStream, cts.Token)));
    }

    private async Task<HostProcess> StartHostAsync(S3Proxy proxy, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string?>();
        foreach (var (key, value) in endpoint.TargetSettings("crash"))
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        environment["StorageBridge__Targets__crash__ServiceUrl"] = proxy.Address.ToString();
        environment["StorageBridge__Targets__crash__PartSize"] = "5MiB";
        environment["StorageBridge__TakeoverWait"] = "1s";
        environment["StorageBridge__LeaseDuration"] = "4s"; // the killed instance's lease lapses quickly after restart
        return await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, OutputSink = output.WriteLine }, cancellationToken);
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
