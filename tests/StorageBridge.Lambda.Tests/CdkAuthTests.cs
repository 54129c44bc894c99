using System.Text.Json.Nodes;
using StorageBridge.Tests;
using StorageBridge.Tests.Support;

namespace StorageBridge.Lambda.Tests;

/// <summary>
/// The profile states its authentication explicitly (the bridge refuses an exposed target that does not): behind the
/// default AWS_IAM Function URL the bridge lets the signed requests in; a public URL needs JWT settings or a declared
/// anonymous trial, or the app refuses to synthesize.
/// </summary>
public sealed class CdkAuthTests(CdkTemplate cdk) : IClassFixture<CdkTemplate>
{
    private const string Target = "StorageBridge__Targets__uploads__";

    [Fact]
    public void Behind_the_iam_function_url_the_target_is_anonymous_explicitly()
    {
        Assert.Equal("AWS_IAM", (string?)cdk.Single("AWS::Lambda::Url").Properties["AuthType"]);
        Assert.Equal("true", (string?)cdk.FunctionEnvironment[Target + "Auth__Anonymous"]);
        Assert.False(cdk.FunctionEnvironment.ContainsKey(Target + "Auth__Jwt__Authority"));
    }

    [Fact]
    public async Task A_public_url_with_jwt_settings_checks_tokens_and_is_not_anonymous()
    {
        var environment = await SynthesizeAsync("""{"functionUrlAuth":"NONE","jwtAuthority":"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example","jwtAudience":"client-1"}""");
        Assert.Equal("false", (string?)environment[Target + "Auth__Anonymous"]);
        Assert.Equal("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example", (string?)environment[Target + "Auth__Jwt__Authority"]);
        Assert.Equal("client-1", (string?)environment[Target + "Auth__Jwt__Audience"]);
    }

    [Fact]
    public async Task A_public_url_without_auth_refuses_to_synthesize_unless_anonymous_is_declared()
    {
        using var output = new TempDirectory();
        var refused = await RunSynthAsync("""{"functionUrlAuth":"NONE"}""", output.Path);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("functionUrlAuth NONE makes the URL public", refused.ToString(), StringComparison.Ordinal);

        var environment = await SynthesizeAsync("""{"functionUrlAuth":"NONE","allowAnonymous":"true"}""");
        Assert.Equal("true", (string?)environment[Target + "Auth__Anonymous"]);
    }

    private static async Task<JsonObject> SynthesizeAsync(string context)
    {
        using var output = new TempDirectory();
        var result = await RunSynthAsync(context, output.Path);
        Assert.True(result.ExitCode == 0, $"npm run synth failed: {result}");
        var template = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output.Path, "StorageBridge.template.json")))!.AsObject();
        var function = template["Resources"]!.AsObject().Single(r => (string?)r.Value!["Type"] == "AWS::Lambda::Function").Value!;
        return function["Properties"]!["Environment"]!["Variables"]!.AsObject();
    }

    private static Task<ChildProcessResult> RunSynthAsync(string context, string output) =>
        ChildProcess.RunAsync(
            "npm",
            ["run", "--silent", "synth"],
            CdkTemplate.AppDirectory,
            TimeSpan.FromMinutes(3),
            CancellationToken.None,
            new Dictionary<string, string?> { ["CDK_OUTDIR"] = output, ["CDK_CONTEXT_JSON"] = context });
}
