using System.Globalization;
using System.Text.Json.Nodes;

namespace StorageBridge.Lambda.Tests;

/// <summary>What the synthesized infra/aws template promises: an image function behind a Function URL, a bucket whose
/// lifecycle outlives the bridge's own expiry, a table with TTL, least privilege, and the expiry schedule.</summary>
public sealed class CdkTemplateTests(CdkTemplate cdk) : IClassFixture<CdkTemplate>
{
    private const string Target = "StorageBridge__Targets__uploads__";

    [Fact]
    public void Function_runs_the_container_image_from_ecr()
    {
        var (_, function) = cdk.Single("AWS::Lambda::Function");
        Assert.Equal("Image", (string?)function["PackageType"]);
        var imageUri = function["Code"]!["ImageUri"]!.ToJsonString();
        Assert.Contains("ImageRepositoryName", imageUri, StringComparison.Ordinal);
        Assert.Contains("ImageTag", imageUri, StringComparison.Ordinal);
    }

    [Fact]
    public void Function_url_needs_iam_signatures_by_default_and_buffers()
    {
        var (_, url) = cdk.Single("AWS::Lambda::Url");
        Assert.Equal("AWS_IAM", (string?)url["AuthType"]);
        Assert.Equal("BUFFERED", (string?)url["InvokeMode"]);
    }

    [Fact]
    public void Appends_fit_the_lambda_payload_limit_after_base64_and_no_1xx_is_sent()
    {
        var environment = cdk.FunctionEnvironment;
        Assert.Equal("false", (string?)environment[Target + "InterimResponses"]);
        var maxAppend = ParseMiB((string)environment[Target + "MaxAppendSize"]!);

        // Lambda's synchronous payload limit is 6 MB (6,291,456 bytes); the body travels base64-encoded in JSON.
        const long payloadLimit = 6_291_456;
        const long envelopeReserve = 512 * 1024; // headers and request context
        Assert.True(((maxAppend + 2) / 3 * 4) + envelopeReserve <= payloadLimit, $"{maxAppend} bytes do not fit");
    }

    [Fact]
    public void Bucket_aborts_incomplete_multipart_uploads_some_days_after_the_targets_expiration()
    {
        var environment = cdk.FunctionEnvironment;
        var prefix = (string)environment[Target + "Prefix"]!;
        var expirationDays = int.Parse(((string)environment[Target + "Expiration"]!).TrimEnd('d'), CultureInfo.InvariantCulture);

        var (_, bucket) = cdk.Single("AWS::S3::Bucket");
        var rules = bucket["LifecycleConfiguration"]!["Rules"]!.AsArray();
        var abort = rules.Single(r => r!["AbortIncompleteMultipartUpload"] is not null)!;
        Assert.Equal("Enabled", (string?)abort["Status"]);
        Assert.Equal(prefix, (string?)abort["Prefix"]);
        var days = (int)abort["AbortIncompleteMultipartUpload"]!["DaysAfterInitiation"]!;
        Assert.InRange(days, expirationDays + 1, expirationDays + 7);

        var tails = rules.Single(r => (string?)r!["Prefix"] == prefix + ".storagebridge-staging/")!;
        Assert.Equal(days, (int)tails["ExpirationInDays"]!);

        Assert.Equal("true", bucket["PublicAccessBlockConfiguration"]!["BlockPublicAcls"]!.ToJsonString());
    }

    [Fact]
    public void Table_has_the_sparse_expiry_and_events_indexes_the_store_checks_at_start_up()
    {
        var (_, table) = cdk.Single("AWS::DynamoDB::Table");
        var types = table["AttributeDefinitions"]!.AsArray().ToDictionary(a => (string)a!["AttributeName"]!, a => (string)a!["AttributeType"]!);
        var indexes = table["GlobalSecondaryIndexes"]!.AsArray().ToDictionary(
            i => (string)i!["IndexName"]!,
            i => string.Join(",", i!["KeySchema"]!.AsArray().Select(k => $"{(string)k!["AttributeName"]!}:{(string)k["KeyType"]!}:{types[(string)k["AttributeName"]!]}")) + "|" + (string)i["Projection"]!["ProjectionType"]!);

        Assert.Equal(
            new Dictionary<string, string>
            {
                [StorageBridge.Metadata.DynamoDb.DynamoDbUploadMetadataStore.ExpiryIndexName] = "xp:HASH:S,exp:RANGE:N|KEYS_ONLY",
                [StorageBridge.Metadata.DynamoDb.DynamoDbUploadMetadataStore.EventsIndexName] = "ev:HASH:S,evd:RANGE:N|KEYS_ONLY",
            },
            indexes);
    }

    [Fact]
    public void Table_has_ttl_and_pays_per_request()
    {
        var (_, table) = cdk.Single("AWS::DynamoDB::Table");
        Assert.True((bool)table["TimeToLiveSpecification"]!["Enabled"]!);
        Assert.False(string.IsNullOrEmpty((string?)table["TimeToLiveSpecification"]!["AttributeName"]));
        Assert.Equal("PAY_PER_REQUEST", (string?)table["BillingMode"]);
        var (tableId, _) = cdk.Single("AWS::DynamoDB::Table");
        Assert.Equal(tableId, (string?)cdk.FunctionEnvironment["StorageBridge__Metadata__TableName"]!["Ref"]);
        Assert.Equal("DynamoDb", (string?)cdk.FunctionEnvironment["StorageBridge__Metadata__Provider"]);
    }

    [Fact]
    public void Function_role_reaches_only_the_prefix_and_the_table()
    {
        var (functionId, function) = cdk.Single("AWS::Lambda::Function");
        var roleId = (string)function["Role"]!["Fn::GetAtt"]![0]!;
        var (bucketId, _) = cdk.Single("AWS::S3::Bucket");
        var (tableId, _) = cdk.Single("AWS::DynamoDB::Table");
        var prefix = (string)cdk.FunctionEnvironment[Target + "Prefix"]!;

        var statements = cdk.All("AWS::IAM::Policy")
            .Where(p => p.Properties["Roles"]!.AsArray().Any(r => (string?)r!["Ref"] == roleId))
            .SelectMany(p => p.Properties["PolicyDocument"]!["Statement"]!.AsArray())
            .Select(s => s!.AsObject())
            .ToList();
        Assert.NotEmpty(statements);
        foreach (var statement in statements)
        {
            var actions = Strings(statement["Action"]);
            Assert.DoesNotContain(actions, a => a.EndsWith('*'));
            var resources = statement["Resource"]!.ToJsonString();
            Assert.DoesNotContain("\"*\"", resources, StringComparison.Ordinal);
            if (actions.Any(a => a.StartsWith("s3:", StringComparison.Ordinal)))
            {
                Assert.Contains(bucketId, resources, StringComparison.Ordinal);
                if (actions.Contains("s3:ListBucket"))
                {
                    Assert.Equal($"[\"{prefix}*\"]", statement["Condition"]!["StringLike"]!["s3:prefix"]!.ToJsonString());
                }
                else
                {
                    Assert.Contains($"/{prefix}*", resources, StringComparison.Ordinal);
                }
            }
            else if (actions.Any(a => a.StartsWith("dynamodb:", StringComparison.Ordinal)))
            {
                Assert.Contains(tableId, resources, StringComparison.Ordinal);
            }
            else
            {
                // Only what Lambda adds for the image pull and the secret the key is read from.
                Assert.All(actions, a => Assert.True(a.StartsWith("ecr:", StringComparison.Ordinal) || a.StartsWith("secretsmanager:", StringComparison.Ordinal), a));
            }
        }

        Assert.NotNull(functionId);
    }

    [Fact]
    public void Schedule_invokes_the_function_with_the_maintenance_request()
    {
        var (functionId, _) = cdk.Single("AWS::Lambda::Function");
        var (_, schedule) = cdk.Single("AWS::Scheduler::Schedule");
        Assert.StartsWith("rate(", (string?)schedule["ScheduleExpression"], StringComparison.Ordinal);
        var target = schedule["Target"]!.AsObject();
        Assert.Equal(functionId, (string?)target["Arn"]!["Fn::GetAtt"]![0]);

        // The input is a Function URL event built around the secret's dynamic reference.
        var parts = target["Input"]!["Fn::Join"]![1]!.AsArray();
        var text = string.Concat(parts.Select(p => p is JsonValue v ? (string?)v : "KEY"));
        var request = JsonNode.Parse(text)!;
        Assert.Equal("2.0", (string?)request["version"]);
        Assert.Equal("POST", (string?)request["requestContext"]!["http"]!["method"]);
        var path = (string)request["rawPath"]!;
        Assert.StartsWith("/maintenance/", path, StringComparison.Ordinal);
        Assert.Single(request["headers"]!.AsObject(), h => h.Key.Contains("maintenance-secret", StringComparison.Ordinal));
    }

    private static List<string> Strings(JsonNode? node) =>
        node is JsonArray array ? array.Select(a => (string)a!).ToList() : [(string)node!];

    private static long ParseMiB(string value)
    {
        Assert.EndsWith("MiB", value, StringComparison.Ordinal);
        return long.Parse(value[..^3], CultureInfo.InvariantCulture) * 1024 * 1024;
    }
}
