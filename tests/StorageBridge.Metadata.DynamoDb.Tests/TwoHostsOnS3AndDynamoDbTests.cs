using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.DynamoDb.Tests;

/// <summary>
/// The product's AWS setup without AWS: two StorageBridge.Host processes sharing one DynamoDB table, with one S3 target,
/// both on moto. They take alternate appends of one upload; the object in the bucket is byte-exact.
/// </summary>
[Collection(MotoCollection.Name)]
public sealed class TwoHostsOnS3AndDynamoDbTests(MotoFixture moto, ITestOutputHelper output) : IAsyncLifetime
{
    private const ulong Seed = 0x5D_D8;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));
    private readonly string _bucket = "sb-" + Guid.NewGuid().ToString("N")[..20];
    private readonly string _prefix = "two-hosts/";
    private readonly string _table = MotoFixture.NewTableName();
    private HostProcess _a = null!;
    private HostProcess _b = null!;
    private HttpClient _clientA = null!;
    private HttpClient _clientB = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        using (var s3 = CreateS3Client())
        {
            await s3.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, Ct);
        }

        var environment = moto.HostEnvironment(_table);
        environment["StorageBridge__LeaseDuration"] = "2s"; // a silent lease holder is waited for at most this long
        environment["StorageBridge__Targets__default__Backend"] = "S3";
        environment["StorageBridge__Targets__default__Bucket"] = _bucket;
        environment["StorageBridge__Targets__default__Prefix"] = _prefix;
        environment["StorageBridge__Targets__default__ServiceUrl"] = moto.ServiceUrl;
        environment["StorageBridge__Targets__default__ForcePathStyle"] = "true";
        environment["StorageBridge__Targets__default__Region"] = moto.Region;
        environment["StorageBridge__Targets__default__AccessKey"] = MotoFixture.AccessKey;
        environment["StorageBridge__Targets__default__SecretKey"] = MotoFixture.SecretKey;

        // One after the other: the first creates the table, the second finds it.
        _a = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, OutputSink = Log("A") }, Ct);
        _b = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, OutputSink = Log("B") }, Ct);
        _clientA = new HttpClient { BaseAddress = _a.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        _clientB = new HttpClient { BaseAddress = _b.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task DisposeAsync()
    {
        _clientA?.Dispose();
        _clientB?.Dispose();
        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (_b is not null)
        {
            await _b.DisposeAsync();
        }

        _timeout.Dispose();
    }

    [Fact]
    public async Task Alternate_appends_on_two_hosts_build_one_byte_exact_object()
    {
        // Appends of 3 MiB + 1 byte: below S3's 5 MiB part minimum, so parts and tails alternate between the hosts.
        const long total = 13L * 1024 * 1024 + 17;
        const long append = 3L * 1024 * 1024 + 1;
        var upload = await IetfUploadRequests.CreateAsync(_clientA, "uploads/default", total, Ct);
        var path = upload.AbsolutePath.TrimStart('/');
        var clients = new[] { _clientA, _clientB };
        var offset = 0L;
        for (var turn = 0; offset < total; turn++)
        {
            var client = clients[turn % 2];
            var at = new Uri(client.BaseAddress!, path);

            // The other host's last append is what this one resumes from: known only through the shared table.
            Assert.Equal(offset, await IetfUploadRequests.HeadOffsetAsync(client, at, Ct));
            offset = await IetfUploadRequests.AppendAsync(client, at, Seed, offset, append, total, Ct);
        }

        var expected = DeterministicData.Sha256(Seed, total);
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(await ReadObjectAsync())));
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(await _clientB.GetByteArrayAsync(path + "/content", Ct))));
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(await _clientA.GetByteArrayAsync(path + "/content", Ct))));
    }

    /// <summary>The one committed object under the target's prefix, read from the bucket itself (not through the bridge).</summary>
    private async Task<byte[]> ReadObjectAsync()
    {
        using var s3 = CreateS3Client();
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix }, Ct);
        var key = Assert.Single(listed.S3Objects ?? [], o => !o.Key.Contains(".storagebridge-staging/", StringComparison.Ordinal)).Key;
        using var response = await s3.GetObjectAsync(_bucket, key, Ct);
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer, Ct);
        return buffer.ToArray();
    }

    private AmazonS3Client CreateS3Client() => new(
        new BasicAWSCredentials(MotoFixture.AccessKey, MotoFixture.SecretKey),
        new AmazonS3Config { ServiceURL = moto.ServiceUrl, ForcePathStyle = true, AuthenticationRegion = moto.Region });

    private Action<string> Log(string name) => line =>
    {
        try
        {
            output.WriteLine($"[{name}] {line}");
        }
        catch (InvalidOperationException)
        {
            // The test already finished.
        }
    };
}
