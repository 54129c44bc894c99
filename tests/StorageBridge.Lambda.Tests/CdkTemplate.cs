using System.Text.Json.Nodes;
using StorageBridge.Tests;
using StorageBridge.Tests.Support;

namespace StorageBridge.Lambda.Tests;

/// <summary>
/// The CloudFormation template of infra/aws, synthesized once per test run by running the CDK app itself
/// (`npm run synth`, offline: no AWS account or CDK CLI).
/// </summary>
public sealed class CdkTemplate : IAsyncLifetime
{
    private readonly TempDirectory output = new();

    public JsonObject Template { get; private set; } = new();

    public JsonObject Resources => Template["Resources"]!.AsObject();

    public static string AppDirectory => Path.Combine(RepositoryLayout.Root, "infra", "aws");

    public async Task InitializeAsync()
    {
        var result = await ChildProcess.RunAsync(
            "npm",
            ["run", "--silent", "synth"],
            AppDirectory,
            TimeSpan.FromMinutes(3),
            CancellationToken.None,
            new Dictionary<string, string?> { ["CDK_OUTDIR"] = output.Path }).ConfigureAwait(false);
        Assert.True(result.ExitCode == 0, $"npm run synth failed: {result}");
        var file = Path.Combine(output.Path, "StorageBridge.template.json");
        Template = JsonNode.Parse(await File.ReadAllTextAsync(file).ConfigureAwait(false))!.AsObject();
    }

    public Task DisposeAsync()
    {
        output.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>The one resource of a type (fails when there are none or several).</summary>
    public (string LogicalId, JsonObject Properties) Single(string type)
    {
        var matches = Resources.Where(r => (string?)r.Value!["Type"] == type).ToList();
        Assert.True(matches.Count == 1, $"expected one {type}, found {matches.Count}");
        return (matches[0].Key, matches[0].Value!["Properties"]!.AsObject());
    }

    public IEnumerable<(string LogicalId, JsonObject Properties)> All(string type) =>
        Resources.Where(r => (string?)r.Value!["Type"] == type).Select(r => (r.Key, r.Value!["Properties"]!.AsObject()));

    /// <summary>The function's environment variables, as written in the template (values may be intrinsic functions).</summary>
    public JsonObject FunctionEnvironment => Single("AWS::Lambda::Function").Properties["Environment"]!["Variables"]!.AsObject();
}
