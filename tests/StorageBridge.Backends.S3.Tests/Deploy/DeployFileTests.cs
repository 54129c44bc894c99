using StorageBridge.Tests;

namespace StorageBridge.Backends.S3.Tests.Deploy;

/// <summary>
/// The Dockerfiles (the image, and the Lambda image on top of it) through dockerfilelint 1.8.0 (npm, tests/clients), deploy/compose.yml through Debian's
/// docker-compose (`config -q` validates without a Docker engine), and the promises the compose file and
/// deploy/nginx.conf make to each other and to docs/deploy/container.md.
/// </summary>
public sealed class DeployFileTests : IDisposable
{
    private readonly CancellationTokenSource timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => timeout.Token;

    public void Dispose() => timeout.Dispose();

    [Theory]
    [InlineData("Dockerfile")]
    [InlineData("deploy/lambda/Dockerfile")]
    public async Task The_Dockerfiles_pass_dockerfilelint(string dockerfile)
    {
        var lint = Path.Combine(RepositoryLayout.ClientsDirectory, "node_modules", "dockerfilelint", "bin", "dockerfilelint");
        Assert.True(File.Exists(lint), $"dockerfilelint is not installed: run `npm ci` in {RepositoryLayout.ClientsDirectory} (./test.sh does).");
        var result = await ChildProcess.RunAsync("node", [lint, dockerfile], RepositoryLayout.Root, TimeSpan.FromMinutes(1), Ct, new Dictionary<string, string?>());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Issues: None found", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_compose_file_is_valid_for_docker_compose()
    {
        var result = await ComposeFile.RunAsync(["-f", ComposeFile.RelativePath, "config", "-q"], Ct);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.StandardError.Trim());
    }

    [Fact]
    public async Task The_compose_file_refuses_to_start_without_the_api_key_hash_and_every_target_states_its_auth()
    {
        var refused = await ComposeFile.RunAsync(["-f", ComposeFile.RelativePath, "config", "-q"], apiKeySha256: null, Ct);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("STORAGEBRIDGE_API_KEY_SHA256", refused.ToString(), StringComparison.Ordinal);

        var environment = (await ComposeFile.ResolveAsync(Ct)).Environment("bridge-1");
        var targets = environment.Keys.Where(k => k.StartsWith("StorageBridge__Targets__", StringComparison.Ordinal) && k.EndsWith("__Backend", StringComparison.Ordinal))
            .Select(k => k["StorageBridge__Targets__".Length..^"__Backend".Length]).ToList();
        Assert.Equal(["default", "media"], targets.Order(StringComparer.Ordinal));
        foreach (var target in targets)
        {
            Assert.Equal(ComposeFile.TestApiKeySha256, environment[$"StorageBridge__Targets__{target}__Auth__ApiKeys__deploy__Sha256"]);
            Assert.False(environment.ContainsKey($"StorageBridge__Targets__{target}__Auth__Anonymous"));
        }
    }

    [Fact]
    public async Task Two_identical_replicas_behind_nginx_on_MinIO_and_PostgreSQL()
    {
        var compose = await ComposeFile.ResolveAsync(Ct);
        Assert.Equal(["bridge-1", "bridge-2", "lb", "minio", "minio-setup", "postgres"], compose.ServiceNames.Order());

        // The replicas are the same image with the same configuration: the load balancer may send any request anywhere.
        Assert.Equal(compose.Environment("bridge-1"), compose.Environment("bridge-2"));
        Assert.Equal("Dockerfile", compose.Scalar("bridge-1", "build", "dockerfile"));
        Assert.Equal(RepositoryLayout.Root, compose.Scalar("bridge-1", "build", "context"));
        Assert.Equal("service_completed_successfully", compose.Scalar("bridge-1", "depends_on", "minio-setup", "condition"));
        Assert.Equal("service_healthy", compose.Scalar("bridge-1", "depends_on", "postgres", "condition"));

        // nginx: both replicas upstream, bodies streamed and unlimited, HTTP/1.1 to the replicas.
        var nginx = File.ReadAllText(Path.Combine(RepositoryLayout.Root, "deploy", "nginx.conf"));
        foreach (var directive in new[]
        {
            "server bridge-1:8080", "server bridge-2:8080", "client_max_body_size 0;", "proxy_request_buffering off;",
            "proxy_http_version 1.1;", "proxy_read_timeout 1h;", "proxy_send_timeout 1h;", "client_body_timeout 1h;",
        })
        {
            Assert.Contains(directive, nginx, StringComparison.Ordinal);
        }

        // The bucket setup creates exactly the buckets the targets use.
        var setup = string.Join('\n', compose.Service("minio-setup").Children[new YamlDotNet.RepresentationModel.YamlScalarNode("entrypoint")]
            .AllNodes.OfType<YamlDotNet.RepresentationModel.YamlScalarNode>().Select(n => n.Value));
        var environment = compose.Environment("bridge-1");
        foreach (var bucket in environment.Where(e => e.Key.EndsWith("__Bucket", StringComparison.Ordinal)).Select(e => e.Value))
        {
            Assert.Contains("local/" + bucket, setup, StringComparison.Ordinal);
        }

        // Behind nginx no target sends 104 (nginx would answer it as the final response: docs/deploy/container.md).
        var targets = environment.Keys.Where(k => k.EndsWith("__Backend", StringComparison.Ordinal)).Select(k => k[..^"__Backend".Length]).ToList();
        Assert.Equal(2, targets.Count);
        Assert.All(targets, t => Assert.Equal("false", environment[t + "__InterimResponses"]));
    }
}
