using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Amazon.S3;
using Amazon.S3.Model;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Backends.S3.Tests.Deploy;

/// <summary>
/// What can be proven of the container image without a Docker engine: the Host published as the Dockerfile publishes
/// it, started with exactly the environment the Dockerfile's ENV lines (and, for the compose variant, bridge-1's
/// environment in deploy/compose.yml) set, read from those files. The only substitutions: the listening port (the
/// image's 8080 may be taken here), the volume path (/data: a temporary folder), the S3 endpoint and its credentials
/// (MinIO: the fauxqs emulator), and for compose PostgreSQL's address (a real PostgreSQL on loopback with the compose
/// file's role and database). The Host must listen on all interfaces and is reached through a
/// non-loopback address of this machine when there is one.
/// </summary>
[Collection(S3Collection.Name)]
public sealed partial class ContainerImageTests(PublishedImage image, S3Endpoint endpoint, ComposePostgres postgres, ITestOutputHelper output)
    : IClassFixture<PublishedImage>, IClassFixture<ComposePostgres>, IDisposable
{
    private const int MiB = 1024 * 1024;
    private const string BridgeService = "bridge-1";

    /// <summary>The probe paths the Dockerfile and docs/deploy/container.md name for orchestrators.</summary>
    private static readonly string[] ProbePaths = ["/healthz", "/healthz/live", "/healthz/ready"];

    private readonly CancellationTokenSource timeout = new(TimeSpan.FromMinutes(5));
    private readonly string volume = Path.Combine(Path.GetTempPath(), "storagebridge-volume-" + Guid.NewGuid().ToString("N")[..12]);

    private CancellationToken Ct => timeout.Token;

    public void Dispose()
    {
        timeout.Dispose();
        if (Directory.Exists(volume))
        {
            Directory.Delete(volume, recursive: true);
        }
    }

    [Fact]
    public async Task The_image_alone_keeps_files_and_SQLite_metadata_on_its_volume()
    {
        // The single-container variant: `docker run -v storagebridge-data:/data -p 8080:8080 -e
        // StorageBridge__Targets__default__Auth__ApiKeys__me__Sha256=... storagebridge` (docs/deploy/container.md): the
        // container listens on all interfaces, so its target must state its authentication.
        var environment = ImageEnvironment(composeEnvironment: null, out var port);
        Assert.Equal("Sqlite", environment["StorageBridge__Metadata__Provider"]);
        environment["StorageBridge__Targets__default__Auth__ApiKeys__me__Sha256"] = ComposeFile.TestApiKeySha256;

        await using var host = await StartAsync(environment, port);
        const ulong seed = 0xD0C4E7;
        const long length = (3 * MiB) + 17;
        var id = await UploadAsync(host.Client, "uploads/default", seed, length);

        var stored = Path.Combine(volume, "files", id);
        Assert.True(File.Exists(stored), host.Process.Describe($"{stored} is missing."));
        Assert.Equal(DeterministicData.Sha256(seed, length), await DeterministicData.Sha256FileAsync(stored, Ct));
        Assert.True(File.Exists(Path.Combine(volume, "storagebridge.db")), "The SQLite metadata is not on the volume.");
    }

    [Fact]
    public async Task A_compose_replica_uploads_into_both_buckets_byte_exact()
    {
        using var s3 = endpoint.CreateClient();
        var (composeEnvironment, buckets, prefixes) = await ComposeReplicaAsync(BridgeService, s3);
        var environment = ImageEnvironment(composeEnvironment, out var port);
        Assert.Equal("Postgres", environment["StorageBridge__Metadata__Provider"]);
        await using var host = await StartAsync(environment, port);
        var client = host.Client;

        // default: key {id}; 10 MiB + 4321 B in 4 MiB appends (one 8 MiB part, then the rest at completion).
        const ulong seedDefault = 0xC0FFEE;
        const long lengthDefault = (10 * MiB) + 4321;
        var idDefault = await UploadAsync(client, "uploads/default", seedDefault, lengthDefault);
        await AssertObjectAsync(s3, buckets["default"], prefixes["default"] + idDefault, seedDefault, lengthDefault);

        // media: the compose file's KeyTemplate {yyyy}/{MM}/{id}/{filename} (no file name given: the id).
        const ulong seedMedia = 0xFACADE;
        const long lengthMedia = (5 * MiB) + 99;
        var idMedia = await UploadAsync(client, "uploads/media", seedMedia, lengthMedia);
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = buckets["media"], Prefix = prefixes["media"] }, Ct);
        var mediaKey = Assert.Single((listed.S3Objects ?? []).Select(o => o.Key), k => k.Contains(idMedia, StringComparison.Ordinal));
        Assert.Matches("^" + Regex.Escape(prefixes["media"]) + @"\d{4}/\d{2}/" + idMedia + "/" + idMedia + "$", mediaKey);
        await AssertObjectAsync(s3, buckets["media"], mediaKey, seedMedia, lengthMedia);

        Assert.False(File.Exists(Path.Combine(volume, "storagebridge.db")), "Metadata went to SQLite instead of PostgreSQL.");
    }

    [Fact]
    public async Task Two_compose_replicas_behind_the_deploy_nginx_conf_serve_one_upload_together()
    {
        // bridge-1 and bridge-2 as compose starts them, sharing one PostgreSQL.
        using var s3 = endpoint.CreateClient();
        var (firstEnvironment, buckets, prefixes) = await ComposeReplicaAsync("bridge-1", s3);
        var (secondEnvironment, _, _) = await ComposeReplicaAsync("bridge-2", s3);
        var first = ImageEnvironment(firstEnvironment, out var firstPort);
        var second = ImageEnvironment(secondEnvironment, out var secondPort);
        Assert.Equal(first["StorageBridge__Metadata__ConnectionString"], second["StorageBridge__Metadata__ConnectionString"]);
        await using var replica1 = await StartAsync(first, firstPort);
        await using var replica2 = await StartAsync(second, secondPort);

        var upstreams = new Dictionary<string, string>
        {
            ["bridge-1:8080"] = replica1.Client.BaseAddress!.Authority,
            ["bridge-2:8080"] = replica2.Client.BaseAddress!.Authority,
        };
        await using var nginx = await NginxProcess.StartAsync(Path.Combine(RepositoryLayout.Root, "deploy", "nginx.conf"), upstreams, Ct);
        using var client = new HttpClient { BaseAddress = nginx.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Add("X-Api-Key", ComposeFile.TestApiKey);

        // One keep-alive connection through nginx for every request: a creation answered with 104 would leave it stuck.
        const ulong seedDefault = 0xBA1A;
        const long lengthDefault = (13 * MiB) + 5;
        var idDefault = await UploadAsync(client, "uploads/default", seedDefault, lengthDefault);
        await AssertObjectAsync(s3, buckets["default"], prefixes["default"] + idDefault, seedDefault, lengthDefault);
        const ulong seedMedia = 0xBA1B;
        const long lengthMedia = (6 * MiB) + 1;
        var idMedia = await UploadAsync(client, "uploads/media", seedMedia, lengthMedia);
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = buckets["media"], Prefix = prefixes["media"] }, Ct);
        var mediaKey = Assert.Single((listed.S3Objects ?? []).Select(o => o.Key), k => k.Contains(idMedia, StringComparison.Ordinal));
        await AssertObjectAsync(s3, buckets["media"], mediaKey, seedMedia, lengthMedia);

        // Round-robin without affinity: the appends of these uploads were served by both replicas, never as 104.
        var log = nginx.AccessLog;
        var patches = log.Where(l => l.StartsWith("PATCH ", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, patches.Count); // 4 + 2 appends of 4 MiB
        Assert.All(log, l => Assert.DoesNotContain(" 104 ", l, StringComparison.Ordinal));
        Assert.Contains(patches, l => l.EndsWith(" " + upstreams["bridge-1:8080"], StringComparison.Ordinal));
        Assert.Contains(patches, l => l.EndsWith(" " + upstreams["bridge-2:8080"], StringComparison.Ordinal));
    }

    /// <summary>
    /// A compose service's environment with MinIO replaced by the S3 endpoint and the `postgres` host by the local
    /// PostgreSQL; creates the buckets as the compose file's minio-setup does.
    /// </summary>
    private async Task<(Dictionary<string, string> Environment, Dictionary<string, string> Buckets, Dictionary<string, string> Prefixes)> ComposeReplicaAsync(string service, AmazonS3Client s3)
    {
        var compose = await ComposeFile.ResolveAsync(Ct);
        var composeEnvironment = new Dictionary<string, string>(compose.Environment(service));

        // Metadata: the compose file's PostgreSQL connection string, pointed at the local server.
        Assert.Equal("Postgres", composeEnvironment["StorageBridge__Metadata__Provider"]);
        const string ComposeAddress = "Host=postgres;Port=5432;";
        Assert.StartsWith(ComposeAddress, composeEnvironment["StorageBridge__Metadata__ConnectionString"], StringComparison.Ordinal);
        composeEnvironment["StorageBridge__Metadata__ConnectionString"] = string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={postgres.Port};")
            + composeEnvironment["StorageBridge__Metadata__ConnectionString"][ComposeAddress.Length..];

        // S3: every S3 target points at MinIO in compose; here at the emulator, same buckets (or, against an external
        // store, the run's bucket and a run prefix so a shared bucket is never polluted).
        var prefixes = new Dictionary<string, string>();
        var buckets = new Dictionary<string, string>();
        foreach (var target in S3Targets(composeEnvironment))
        {
            var key = $"StorageBridge__Targets__{target}__";
            Assert.Equal("http://minio:9000", composeEnvironment[key + "ServiceUrl"]);
            Assert.Equal("false", composeEnvironment[key + "InterimResponses"]); // nginx in front: see the docs
            composeEnvironment[key + "ServiceUrl"] = endpoint.ServiceUrl;
            composeEnvironment[key + "AccessKey"] = endpoint.AccessKey;
            composeEnvironment[key + "SecretKey"] = endpoint.SecretKey;
            composeEnvironment[key + "Region"] = endpoint.Region;
            if (endpoint.IsExternal)
            {
                composeEnvironment[key + "Bucket"] = endpoint.Bucket;
                composeEnvironment[key + "Prefix"] = endpoint.RunPrefix + target + "/";
            }

            buckets[target] = composeEnvironment[key + "Bucket"];
            prefixes[target] = composeEnvironment.GetValueOrDefault(key + "Prefix", "");
        }

        Assert.Equal(["default", "media"], buckets.Keys.Order());
        if (!endpoint.IsExternal)
        {
            Assert.Equal(["media", "uploads"], buckets.Values.Order()); // two targets, two buckets
        }

        foreach (var bucket in buckets.Values.Distinct())
        {
            // What the compose file's minio-setup does with `mc mb --ignore-existing`.
            try
            {
                await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket }, Ct);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
            {
            }
        }

        return (composeEnvironment, buckets, prefixes);
    }

    /// <summary>The Dockerfile's ENV, then the compose service's environment over it, container paths and the port mapped.</summary>
    private Dictionary<string, string> ImageEnvironment(IReadOnlyDictionary<string, string>? composeEnvironment, out int port)
    {
        var environment = new Dictionary<string, string>(image.Dockerfile.RuntimeEnvironment, StringComparer.Ordinal);
        foreach (var (key, value) in composeEnvironment ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        // The image listens on all interfaces on 8080 through ASPNETCORE_HTTP_PORTS; the port is all that changes here.
        Assert.Equal("8080", environment["ASPNETCORE_HTTP_PORTS"]);
        Assert.Contains("8080", image.Dockerfile.ExposedPorts);
        Assert.DoesNotContain(environment.Keys, k => k is "ASPNETCORE_URLS" or "urls");
        port = HostProcess.GetFreeTcpPort();
        environment["ASPNETCORE_HTTP_PORTS"] = port.ToString(CultureInfo.InvariantCulture);

        Assert.Equal(["/data"], image.Dockerfile.Volumes);
        Directory.CreateDirectory(volume);
        foreach (var key in environment.Keys.ToList())
        {
            environment[key] = image.MapContainerPath(environment[key], volume);
        }

        return environment;
    }

    private async Task<RunningContainer> StartAsync(Dictionary<string, string> environment, int port)
    {
        var command = image.Dockerfile.Entrypoint.Select(a => image.MapContainerPath(a, volume)).ToList();
        Assert.True(File.Exists(command[^1]), $"The ENTRYPOINT's {image.Dockerfile.Entrypoint[^1]} is not in the publish output ({command[^1]}).");
        var workingDirectory = image.MapContainerPath(image.Dockerfile.RuntimeWorkingDirectory, volume);
        Assert.Equal(volume, workingDirectory);
        output.WriteLine($"publish: dotnet {string.Join(' ', image.PublishArguments)} ({image.ContextFileCount} context files, {image.PublishDuration.TotalSeconds:F0} s)");
        output.WriteLine($"run: {string.Join(' ', command)} in {workingDirectory} with {string.Join(' ', environment.Where(e => !e.Key.Contains("SecretKey", StringComparison.Ordinal)).Select(e => e.Key + "=" + e.Value))}");

        // Reached through this machine's non-loopback address when it has one, so a loopback-only bind would fail;
        // without one, 127.0.0.1 reaches the all-interfaces bind and the startup line below still proves it.
        var address = ContainerProcess.NonLoopbackAddress() ?? IPAddress.Loopback;
        var baseAddress = new Uri($"http://{address}:{port}/");
        var process = ContainerProcess.Start(command, workingDirectory, environment, output.WriteLine);
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Add("X-Api-Key", ComposeFile.TestApiKey);
        try
        {
            await process.WaitUntilHealthyAsync(client, new Uri(baseAddress, "healthz"), TimeSpan.FromSeconds(90), Ct);
            Assert.Matches(@"Now listening on: http://(\[::\]|0\.0\.0\.0):" + port.ToString(CultureInfo.InvariantCulture), process.Output);
            foreach (var path in ProbePaths)
            {
                using var probe = await client.GetAsync(new Uri(baseAddress, path), Ct);
                Assert.True(probe.StatusCode == HttpStatusCode.OK, process.Describe($"{path} answered {(int)probe.StatusCode}"));
            }

            return new RunningContainer(process, client);
        }
        catch
        {
            client.Dispose();
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>An IETF upload in 4 MiB appends; returns the upload id (the last segment of its URL).</summary>
    private async Task<string> UploadAsync(HttpClient client, string path, ulong seed, long length)
    {
        var upload = await IetfUploadRequests.CreateAsync(client, path, length, Ct);
        for (long offset = 0; offset < length;)
        {
            offset = await IetfUploadRequests.AppendAsync(client, upload, seed, offset, 4 * MiB, length, Ct);
        }

        return upload.AbsolutePath.TrimEnd('/').Split('/')[^1];
    }

    private async Task AssertObjectAsync(AmazonS3Client s3, string bucket, string key, ulong seed, long length)
    {
        using var stored = await s3.GetObjectAsync(bucket, key, Ct);
        Assert.Equal(length, stored.ContentLength);
        Assert.Equal(DeterministicData.Sha256(seed, length), Convert.ToHexStringLower(await SHA256.HashDataAsync(stored.ResponseStream, Ct)));
    }

    private static List<string> S3Targets(IReadOnlyDictionary<string, string> environment) =>
        [.. environment
            .Select(e => (Match: BackendKey().Match(e.Key), e.Value))
            .Where(e => e.Match.Success && e.Value.Equals("S3", StringComparison.OrdinalIgnoreCase))
            .Select(e => e.Match.Groups[1].Value)];

    [GeneratedRegex("^StorageBridge__Targets__([A-Za-z0-9_-]+?)__Backend$")]
    private static partial Regex BackendKey();

    private sealed record RunningContainer(ContainerProcess Process, HttpClient Client) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            Client.Dispose();
            return Process.DisposeAsync();
        }
    }
}
