using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using StorageBridge.Metadata.DynamoDb.Tests;
using StorageBridge.Tests;
using StorageBridge.Tests.Support;
using Xunit.Abstractions;

namespace StorageBridge.Lambda.Tests;

/// <summary>
/// The Host started with exactly the environment the synthesized infra/aws template gives the Lambda function (read
/// from the template, so the two cannot drift), against moto's S3 and DynamoDB. Only what the cloud resolves at
/// deployment is filled in: the table and bucket names, the region, the secret; and only what an emulator needs is
/// added: endpoints and static credentials. The table is created exactly as the template defines it.
/// </summary>
public sealed class LambdaProfileTests(CdkTemplate cdk, MotoFixture moto, ITestOutputHelper output)
    : IClassFixture<CdkTemplate>, IClassFixture<MotoFixture>, IAsyncLifetime
{
    private const long MiB = 1024 * 1024;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(6));
    private readonly TempDirectory _files = new("sb-lambda");
    private readonly string _table = "sb-lambda-" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _bucket = "sb-lambda-" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
    private readonly List<HostProcess> _hosts = [];
    private Dictionary<string, string?> _environment = [];
    private string _target = "";
    private string _prefix = "";

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        await CreateTableAsTheTemplateDoesAsync();
        using (var s3 = CreateS3Client())
        {
            await s3.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, Ct);
        }

        _environment = FunctionEnvironment();
        _target = _environment.Keys.Select(k => k.Split("__")).Where(p => p is [_, "Targets", _, "Backend"]).Select(p => p[2]).Single();
        _prefix = _environment[$"StorageBridge__Targets__{_target}__Prefix"]!;
        for (var i = 0; i < 2; i++)
        {
            _hosts.Add(await HostProcess.StartAsync(new HostProcessOptions { Environment = _environment, OutputSink = output.WriteLine }, Ct));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        _files.Dispose();
        _timeout.Dispose();
    }

    [Fact]
    public async Task The_target_advertises_the_4_MiB_append_limit_and_enforces_it()
    {
        using var client = Client(_hosts[0]);
        using var options = new HttpRequestMessage(HttpMethod.Options, $"uploads/{_target}");
        using var answer = await client.SendAsync(options, Ct);
        Assert.Contains("max-append-size=4194304", string.Join(",", answer.Headers.GetValues("Upload-Limit")), StringComparison.Ordinal);

        var upload = await IetfUploadRequests.CreateAsync(client, $"uploads/{_target}", 5 * MiB, Ct);
        using var tooLarge = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = new ByteArrayContent(new byte[(4 * MiB) + 1]) };
        tooLarge.Headers.Add("Upload-Draft-Interop-Version", "8");
        tooLarge.Headers.Add("Upload-Offset", "0");
        tooLarge.Headers.Add("Upload-Complete", "?0");
        tooLarge.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        using var refused = await client.SendAsync(tooLarge, Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Equal(0, await IetfUploadRequests.HeadOffsetAsync(client, upload, Ct));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(50 * MiB)]
    public async Task Tus_js_client_uploads_within_the_advertised_limit(long size)
    {
        var file = _files.Combine($"tus-{size}.bin");
        var sha256 = await DeterministicData.WriteFileAsync(file, (ulong)size + 11, size, Ct);
        var url = await RunTusJsClientAsync(file, "tus-v1", (4 * MiB).ToString(CultureInfo.InvariantCulture));
        Assert.Equal(sha256, await ObjectSha256Async(_prefix + IdOf(url)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(50 * MiB)]
    public async Task An_ietf_client_uploads_within_the_advertised_limit(long size)
    {
        using var client = Client(_hosts[0]);
        var seed = (ulong)size + 23;
        Uri upload;
        if (size == 0)
        {
            using var create = new HttpRequestMessage(HttpMethod.Post, $"uploads/{_target}") { Content = new ByteArrayContent([]) };
            create.Headers.Add("Upload-Draft-Interop-Version", "8");
            create.Headers.Add("Upload-Complete", "?1");
            using var created = await client.SendAsync(create, Ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            upload = new Uri(client.BaseAddress!, created.Headers.Location!);
        }
        else
        {
            upload = await IetfUploadRequests.CreateAsync(client, $"uploads/{_target}", size, Ct);
            for (long offset = 0; offset < size;)
            {
                offset = await IetfUploadRequests.AppendAsync(client, upload, seed, offset, 4 * MiB, size, Ct);
            }
        }

        Assert.Equal(DeterministicData.Sha256(seed, size), await ObjectSha256Async(_prefix + IdOf(upload.AbsoluteUri)));
    }

    [Fact]
    public async Task Two_functions_sharing_the_table_take_alternate_appends_of_one_upload()
    {
        using var first = Client(_hosts[0]);
        using var second = Client(_hosts[1]);
        const long size = (17 * MiB) + 3;
        const ulong seed = 0x1A3BDA;
        var upload = await IetfUploadRequests.CreateAsync(first, $"uploads/{_target}", size, Ct);
        var path = upload.PathAndQuery;
        long offset = 0;
        for (var i = 0; offset < size; i++)
        {
            var client = i % 2 == 0 ? first : second;
            offset = await IetfUploadRequests.AppendAsync(client, new Uri(client.BaseAddress!, path), seed, offset, 4 * MiB, size, Ct);
        }

        Assert.Equal(DeterministicData.Sha256(seed, size), await ObjectSha256Async(_prefix + IdOf(path)));
    }

    [Fact]
    public async Task The_schedules_request_runs_an_expiry_sweep_and_nobody_else_may()
    {
        // The request the schedule's event becomes (Lambda Web Adapter: rawPath, method, headers), from the template.
        var (_, schedule) = cdk.Single("AWS::Scheduler::Schedule");
        var parts = schedule["Target"]!["Input"]!["Fn::Join"]![1]!.AsArray();
        var text = string.Concat(parts.Select(p => p is JsonValue v ? (string?)v : "SECRET"))
            .Replace("{{resolve:secretsmanager:SECRET:SecretString:::}}", _secret, StringComparison.Ordinal);
        var scheduled = JsonNode.Parse(text)!;
        using var client = Client(_hosts[1]);

        using var request = new HttpRequestMessage(new HttpMethod((string)scheduled["requestContext"]!["http"]!["method"]!), (string)scheduled["rawPath"]!);
        foreach (var (name, value) in scheduled["headers"]!.AsObject())
        {
            request.Headers.TryAddWithoutValidation(name, (string?)value);
        }

        using var swept = await client.SendAsync(request, Ct);
        var body = await swept.Content.ReadAsStringAsync(Ct);
        Assert.True(swept.StatusCode == HttpStatusCode.OK, body);
        Assert.True(JsonDocument.Parse(body).RootElement.TryGetProperty("handled", out _), body);

        using var stranger = new HttpRequestMessage(HttpMethod.Post, (string)scheduled["rawPath"]!);
        stranger.Headers.Add("X-StorageBridge-Maintenance-Secret", "not-the-secret-not-the-secret-not-the-secret");
        using var refused = await client.SendAsync(stranger, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    /// <summary>The function's environment from the template, with what deployment resolves filled in.</summary>
    private Dictionary<string, string?> FunctionEnvironment()
    {
        var (tableId, _) = cdk.Single("AWS::DynamoDB::Table");
        var (bucketId, _) = cdk.Single("AWS::S3::Bucket");
        var environment = new Dictionary<string, string?>();
        foreach (var (key, value) in cdk.FunctionEnvironment)
        {
            environment[key] = value switch
            {
                JsonValue plain => (string?)plain,
                JsonObject { Count: 1 } reference when reference["Ref"] is JsonValue name => (string?)name switch
                {
                    var id when id == tableId => _table,
                    var id when id == bucketId => _bucket,
                    "AWS::Region" => moto.Region,
                    var other => throw new InvalidOperationException($"{key}: unknown reference {other}"),
                },
                JsonObject join when join["Fn::Join"]?.ToJsonString().Contains("resolve:secretsmanager", StringComparison.Ordinal) == true => _secret,
                _ => throw new InvalidOperationException($"{key}: a value the test does not know how to resolve: {value?.ToJsonString()}"),
            };
        }

        // Emulator endpoints and credentials: the function gets these from AWS itself. Nothing else is added.
        string[] added = ["ServiceUrl", "AccessKey", "SecretKey"];
        var target = environment.Keys.Single(k => k.EndsWith("__Backend", StringComparison.Ordinal))[..^"Backend".Length];
        foreach (var prefix in new[] { "StorageBridge__Metadata__", target })
        {
            Assert.DoesNotContain(added, name => environment.ContainsKey(prefix + name));
            environment[prefix + "ServiceUrl"] = moto.ServiceUrl;
            environment[prefix + "AccessKey"] = MotoFixture.AccessKey;
            environment[prefix + "SecretKey"] = MotoFixture.SecretKey;
        }

        environment[target + "ForcePathStyle"] = "true";
        // The function has only its own target: not the file target HostProcess declares for other tests.
        environment["StorageBridge__Targets__default__Root"] = null;
        return environment;
    }

    /// <summary>Creates the table from the template's own definition: keys, indexes, billing and TTL.</summary>
    private async Task CreateTableAsTheTemplateDoesAsync()
    {
        var (_, table) = cdk.Single("AWS::DynamoDB::Table");
        using var dynamo = moto.CreateClient();
        var request = new CreateTableRequest
        {
            TableName = _table,
            BillingMode = new BillingMode((string)table["BillingMode"]!),
            AttributeDefinitions = [.. table["AttributeDefinitions"]!.AsArray().Select(a => new AttributeDefinition((string)a!["AttributeName"]!, new ScalarAttributeType((string)a["AttributeType"]!)))],
            KeySchema = KeySchema(table["KeySchema"]!),
            GlobalSecondaryIndexes = [.. (table["GlobalSecondaryIndexes"]?.AsArray() ?? []).Select(i => new GlobalSecondaryIndex
            {
                IndexName = (string)i!["IndexName"]!,
                KeySchema = KeySchema(i["KeySchema"]!),
                Projection = new Projection { ProjectionType = new ProjectionType((string)i["Projection"]!["ProjectionType"]!) },
            })],
        };
        await dynamo.CreateTableAsync(request, Ct);
        var ttl = table["TimeToLiveSpecification"]!;
        await dynamo.UpdateTimeToLiveAsync(
            new UpdateTimeToLiveRequest
            {
                TableName = _table,
                TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = (string)ttl["AttributeName"]!, Enabled = (bool)ttl["Enabled"]! },
            },
            Ct);

        static List<KeySchemaElement> KeySchema(JsonNode keys) =>
            [.. keys.AsArray().Select(k => new KeySchemaElement((string)k!["AttributeName"]!, new KeyType((string)k["KeyType"]!)))];
    }

    private async Task<string> RunTusJsClientAsync(string path, string protocol, string chunkSize)
    {
        var clientDir = RepositoryLayout.ClientsDirectory;
        var result = await ChildProcess.RunAsync(
            "node",
            [Path.Combine(clientDir, "tus-upload.mjs"), new Uri(_hosts[0].BaseAddress, $"uploads/{_target}").ToString(), path, protocol, chunkSize],
            clientDir,
            TimeSpan.FromMinutes(3),
            Ct);
        Assert.True(result.ExitCode == 0, result.ToString());
        var line = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        using var answer = JsonDocument.Parse(line);
        return answer.RootElement.GetProperty("url").GetString()!;
    }

    private async Task<string> ObjectSha256Async(string key)
    {
        using var s3 = CreateS3Client();
        using var response = await s3.GetObjectAsync(_bucket, key, Ct);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(response.ResponseStream, Ct));
    }

    private AmazonS3Client CreateS3Client() =>
        new(new BasicAWSCredentials(MotoFixture.AccessKey, MotoFixture.SecretKey), new AmazonS3Config { ServiceURL = moto.ServiceUrl, ForcePathStyle = true, AuthenticationRegion = moto.Region });

    private static HttpClient Client(HostProcess host) => new() { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

    private static string IdOf(string url) => url.TrimEnd('/')[(url.TrimEnd('/').LastIndexOf('/') + 1)..];
}
