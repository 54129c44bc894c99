using StorageBridge.Tests;
using YamlDotNet.RepresentationModel;

namespace StorageBridge.Backends.S3.Tests.Deploy;

/// <summary>
/// deploy/compose.yml as <c>docker-compose config</c> resolves it (anchors merged, <c>${VAR:-default}</c> filled in,
/// environment lists turned into maps): what a container of a service would really get.
/// </summary>
public sealed class ComposeFile
{
    private readonly YamlMappingNode services;

    private ComposeFile(YamlMappingNode services) => this.services = services;

    public static string RelativePath => "deploy/compose.yml";

    /// <summary>Runs <c>docker-compose -f deploy/compose.yml config</c> (no Docker engine needed) and parses its output.</summary>
    public static async Task<ComposeFile> ResolveAsync(CancellationToken cancellationToken)
    {
        var result = await RunAsync(["-f", RelativePath, "config"], cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"docker-compose config failed: {result}");
        }

        var yaml = new YamlStream();
        yaml.Load(new StringReader(result.StandardOutput));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        return new ComposeFile((YamlMappingNode)root.Children[new YamlScalarNode("services")]);
    }

    /// <summary>The API key the tests' clients send (X-Api-Key); compose gets only its SHA-256, as a deployment would.</summary>
    public const string TestApiKey = "compose-test-api-key";

    public static string TestApiKeySha256 => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(TestApiKey)));

    /// <summary>
    /// Runs docker-compose from the repository root with a clean interpolation environment; the required
    /// STORAGEBRIDGE_API_KEY_SHA256 is the hash of <see cref="TestApiKey"/> unless <paramref name="apiKeySha256"/> says
    /// otherwise (null: unset).
    /// </summary>
    public static Task<ChildProcessResult> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        RunAsync(arguments, TestApiKeySha256, cancellationToken);

    public static Task<ChildProcessResult> RunAsync(IReadOnlyList<string> arguments, string? apiKeySha256, CancellationToken cancellationToken)
    {
        if (!File.Exists("/usr/bin/docker-compose") && !System.Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, "docker-compose"))))
        {
            throw new InvalidOperationException("docker-compose is not installed: `apt-get install docker-compose` (emulators/apt-packages.txt lists it; ./test.sh installs it).");
        }

        // Variables the file interpolates (${MINIO_ROOT_USER:-...}) must come from the file's defaults, not from
        // whatever the machine running the tests has set.
        return ChildProcess.RunAsync(
            "docker-compose",
            arguments,
            RepositoryLayout.Root,
            TimeSpan.FromMinutes(2),
            cancellationToken,
            new Dictionary<string, string?>
            {
                ["MINIO_ROOT_USER"] = null, ["MINIO_ROOT_PASSWORD"] = null, ["POSTGRES_PASSWORD"] = null,
                ["STORAGEBRIDGE_API_KEY_SHA256"] = apiKeySha256,
            });
    }

    public IReadOnlyList<string> ServiceNames => [.. services.Children.Keys.Select(k => ((YamlScalarNode)k).Value!)];

    public YamlMappingNode Service(string name) => (YamlMappingNode)services.Children[new YamlScalarNode(name)];

    /// <summary>A service's environment (map or KEY=VALUE list form).</summary>
    public IReadOnlyDictionary<string, string> Environment(string service)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!Service(service).Children.TryGetValue(new YamlScalarNode("environment"), out var node))
        {
            return env;
        }

        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (key, value) in map.Children)
                {
                    env[((YamlScalarNode)key).Value!] = ((YamlScalarNode)value).Value ?? "";
                }

                break;
            case YamlSequenceNode list:
                foreach (var item in list.Children.Cast<YamlScalarNode>())
                {
                    var text = item.Value!;
                    var equals = text.IndexOf('=', StringComparison.Ordinal);
                    env[equals < 0 ? text : text[..equals]] = equals < 0 ? "" : text[(equals + 1)..];
                }

                break;
            default:
                throw new InvalidDataException($"environment of {service}: unexpected {node.NodeType}.");
        }

        return env;
    }

    /// <summary>A scalar at a path of mapping keys, or null.</summary>
    public string? Scalar(string service, params string[] path)
    {
        YamlNode node = Service(service);
        foreach (var key in path)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var child))
            {
                return null;
            }

            node = child;
        }

        return (node as YamlScalarNode)?.Value;
    }
}
