using System.Text.Json;

namespace StorageBridge.Functions.Tests;

/// <summary>
/// infra/azure compiles and lints cleanly with the Bicep CLI (NuGet Azure.Bicep.CommandLine.linux-x64; bicepconfig.json
/// raises the linter rules to errors, and any diagnostic fails here), and the compiled template holds what the
/// deployment needs: identity-only access, TTL on the records container, the role scopes and the app settings.
/// </summary>
public sealed class BicepTemplateTests
{
    [Fact]
    public async Task The_template_builds_and_lints_without_a_diagnostic()
    {
        var build = await BicepCli.RunAsync("build", "main.bicep", "--stdout");
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Equal("", build.StandardError.Trim());

        var lint = await BicepCli.RunAsync("lint", "main.bicep");
        Assert.True(lint.ExitCode == 0, lint.ToString());
        Assert.Equal("", lint.StandardError.Trim());
    }

    [Fact]
    public async Task The_compiled_template_has_no_keys_ttl_on_the_records_and_container_scoped_roles()
    {
        using var template = await BicepCli.CompileAsync();
        var resources = template.RootElement.GetProperty("resources");
        var byType = resources.EnumerateArray()
            .GroupBy(r => r.GetProperty("type").GetString()!)
            .ToDictionary(g => g.Key, g => g.ToList());

        // No keys: shared-key access off on both accounts, local auth off on Cosmos DB.
        Assert.Equal(2, byType["Microsoft.Storage/storageAccounts"].Count);
        Assert.All(byType["Microsoft.Storage/storageAccounts"], a => Assert.False(a.GetProperty("properties").GetProperty("allowSharedKeyAccess").GetBoolean()));
        var cosmos = byType["Microsoft.DocumentDB/databaseAccounts"].Single();
        Assert.True(cosmos.GetProperty("properties").GetProperty("disableLocalAuth").GetBoolean());

        // The records container: partitioned on /id, TTL on with no default (the store writes each item's ttl).
        var container = byType["Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers"].Single().GetProperty("properties").GetProperty("resource");
        Assert.Equal(-1, container.GetProperty("defaultTtl").GetInt32());
        Assert.Equal("/id", container.GetProperty("partitionKey").GetProperty("paths").EnumerateArray().Single().GetString());

        // Indexed like a container the store creates: only the two expiry fields its queries filter on.
        var indexing = container.GetProperty("indexingPolicy");
        Assert.Equal(
            ["/eventsDueAtMs/?", "/expiresAtMs/?", "/lookupExpiresAtMs/?"],
            indexing.GetProperty("includedPaths").EnumerateArray().Select(p => p.GetProperty("path").GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal("/*", indexing.GetProperty("excludedPaths").EnumerateArray().Single().GetProperty("path").GetString());

        // Storage Blob Data Contributor on the upload container (not the account); Cosmos DB data role on the database.
        var variables = template.RootElement.GetProperty("variables");
        Assert.Equal("ba92f5b4-2d11-453d-a403-e96b0029c9fe", variables.GetProperty("storageBlobDataContributor").GetString());
        Assert.Equal("00000000-0000-0000-0000-000000000002", variables.GetProperty("cosmosBuiltInDataContributor").GetString());
        var contributor = byType["Microsoft.Authorization/roleAssignments"]
            .Single(r => r.GetProperty("properties").GetProperty("roleDefinitionId").GetString()!.Contains("variables('storageBlobDataContributor')", StringComparison.Ordinal));
        Assert.StartsWith("[resourceId('Microsoft.Storage/storageAccounts/blobServices/containers', ", contributor.GetProperty("scope").GetString(), StringComparison.Ordinal);
        var sqlRole = byType["Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments"].Single().GetProperty("properties");
        Assert.Contains("variables('cosmosBuiltInDataContributor')", sqlRole.GetProperty("roleDefinitionId").GetString(), StringComparison.Ordinal);
        Assert.Contains("/dbs/", sqlRole.GetProperty("scope").GetString(), StringComparison.Ordinal);
        Assert.Equal("ServicePrincipal", contributor.GetProperty("properties").GetProperty("principalType").GetString());

        // The plan allows the request sizes the profile advertises.
        var plan = byType["Microsoft.Web/serverfarms"].Single();
        Assert.Equal("FlexConsumption", plan.GetProperty("sku").GetProperty("tier").GetString());
    }

    [Fact]
    public async Task The_app_settings_name_the_bridge_keys_and_carry_no_secret()
    {
        using var template = await BicepCli.CompileAsync();
        var site = template.RootElement.GetProperty("resources").EnumerateArray()
            .Single(r => r.GetProperty("type").GetString() == "Microsoft.Web/sites");
        var settings = site.GetProperty("properties").GetProperty("siteConfig").GetProperty("appSettings").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("value").GetString()!);

        Assert.Equal("Cosmos", settings["StorageBridge__Metadata__Provider"]);
        Assert.Equal("AzureBlob", settings["StorageBridge__Targets__default__Backend"]);
        Assert.Equal("false", settings["StorageBridge__Metadata__CreateIfMissing"]);
        Assert.Equal("false", settings["StorageBridge__Targets__default__CreateContainerIfMissing"]);
        Assert.Equal("false", settings["StorageBridge__Targets__default__InterimResponses"]);
        Assert.Equal("100MiB", settings["StorageBridge__Targets__default__MaxAppendSize"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Contains("StorageBridge__Targets__default__ServiceUri", settings.Keys);
        Assert.Contains("AZURE_CLIENT_ID", settings.Keys);

        // Authentication is stated: Entra ID JWT settings from parameters, anonymous only when a deployer says so.
        Assert.Equal("[parameters('jwtAuthority')]", settings["StorageBridge__Targets__default__Auth__Jwt__Authority"]);
        Assert.Equal("[parameters('jwtAudience')]", settings["StorageBridge__Targets__default__Auth__Jwt__Audience"]);
        Assert.Equal("[parameters('allowAnonymous')]", settings["StorageBridge__Targets__default__Auth__Anonymous"]);
        var parameters = template.RootElement.GetProperty("parameters");
        Assert.Equal("false", parameters.GetProperty("allowAnonymous").GetProperty("defaultValue").GetString());

        // Identity-based everything: no key, connection string or account key anywhere in the settings.
        Assert.DoesNotContain(settings.Keys, k => k.EndsWith("__Key", StringComparison.Ordinal) || k.EndsWith("ConnectionString", StringComparison.Ordinal) || k == "AzureWebJobsStorage");
        Assert.DoesNotContain(settings.Values, v => v.Contains("listKeys", StringComparison.OrdinalIgnoreCase) || v.Contains("AccountKey", StringComparison.Ordinal));
    }
}
