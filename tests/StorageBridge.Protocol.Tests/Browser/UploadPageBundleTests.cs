using StorageBridge.Tests;

namespace StorageBridge.Protocol.Tests.Browser;

/// <summary>The committed bundle in src/hosts/StorageBridge.Host/UploadPage is what web/build.mjs makes from web/src now.</summary>
public sealed class UploadPageBundleTests
{
    [Fact(Timeout = 120_000)]
    public async Task Committed_bundle_is_built_from_the_current_page_sources()
    {
        var web = Path.Combine(RepositoryLayout.Root, "web");
        Assert.True(
            File.Exists(Path.Combine(web, "node_modules", "esbuild", "package.json")),
            $"{Path.Combine(web, "node_modules")} is missing: run `npm ci --prefix web` (./test.sh does this).");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var check = await ChildProcess.RunAsync("node", [Path.Combine(web, "build.mjs"), "--check"], web, TimeSpan.FromMinutes(1), cts.Token);
        Assert.True(check.ExitCode == 0, $"web/build.mjs --check: {check}");
    }
}
