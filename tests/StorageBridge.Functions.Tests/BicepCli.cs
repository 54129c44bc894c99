using System.Reflection;
using System.Text.Json;
using StorageBridge.Tests;

namespace StorageBridge.Functions.Tests;

/// <summary>The Bicep CLI from the NuGet package Azure.Bicep.CommandLine.linux-x64, run on infra/azure.</summary>
public static class BicepCli
{
    public static readonly string InfraDirectory = Path.Combine(RepositoryLayout.Root, "infra", "azure");

    public static Task<ChildProcessResult> RunAsync(params string[] arguments)
    {
        var package = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "BicepPackageDirectory").Value;
        Assert.False(string.IsNullOrEmpty(package), "the Azure.Bicep.CommandLine.linux-x64 package path was not recorded at build time");
        var bicep = Path.Combine(package, "tools", "bicep");
        Assert.True(File.Exists(bicep), $"no Bicep CLI at {bicep}");
        if (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(bicep).HasFlag(UnixFileMode.UserExecute))
        {
            // Older NuGet clients extract package files without the execute bit.
            File.SetUnixFileMode(bicep, File.GetUnixFileMode(bicep) | UnixFileMode.UserExecute);
        }

        return ChildProcess.RunAsync(bicep, arguments, InfraDirectory, TimeSpan.FromMinutes(3), CancellationToken.None);
    }

    /// <summary>main.bicep compiled to an ARM template.</summary>
    public static async Task<JsonDocument> CompileAsync()
    {
        var build = await RunAsync("build", "main.bicep", "--stdout");
        Assert.True(build.ExitCode == 0, build.ToString());
        return JsonDocument.Parse(build.StandardOutput);
    }

    /// <summary>
    /// The Function App's StorageBridge settings as configuration keys (StorageBridge__A__B becomes StorageBridge:A:B),
    /// with parameter references resolved to the parameters' defaults. Values computed at deployment (endpoints of the
    /// resources) stay ARM expressions starting with '['.
    /// </summary>
    public static Dictionary<string, string> BridgeSettings(JsonDocument template)
    {
        var parameters = template.RootElement.GetProperty("parameters");
        var site = template.RootElement.GetProperty("resources").EnumerateArray()
            .Single(r => r.GetProperty("type").GetString() == "Microsoft.Web/sites");
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var setting in site.GetProperty("properties").GetProperty("siteConfig").GetProperty("appSettings").EnumerateArray())
        {
            var name = setting.GetProperty("name").GetString()!;
            if (!name.StartsWith("StorageBridge__", StringComparison.Ordinal))
            {
                continue;
            }

            var value = setting.GetProperty("value").GetString()!;
            const string parameter = "[parameters('";
            if (value.StartsWith(parameter, StringComparison.Ordinal) && value.EndsWith("')]", StringComparison.Ordinal))
            {
                value = parameters.GetProperty(value[parameter.Length..^3]).GetProperty("defaultValue").GetString()!;
            }

            settings[name.Replace("__", ":", StringComparison.Ordinal)] = value;
        }

        return settings;
    }
}
