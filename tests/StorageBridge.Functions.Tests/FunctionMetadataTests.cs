using System.Reflection;
using System.Text.Json;
using StorageBridge.Tests;

namespace StorageBridge.Functions.Tests;

/// <summary>
/// What the Functions host reads from the build output: functions.metadata (written by the worker SDK from the
/// attributes) lists the HTTP and timer functions, and host.json carries the route prefix and timeout.
/// </summary>
public sealed class FunctionMetadataTests
{
    private static string OutputDirectory
    {
        get
        {
            // The Functions project is built with the tests' own configuration (a project reference).
            var configuration = typeof(FunctionMetadataTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
            return Path.Combine(RepositoryLayout.Root, "src", "hosts", "StorageBridge.Functions", "bin", configuration, "net10.0");
        }
    }

    [Fact]
    public void Functions_metadata_holds_the_catch_all_http_trigger_and_the_expiry_timer()
    {
        using var metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(OutputDirectory, "functions.metadata")));
        var functions = metadata.RootElement.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);

        Assert.Equal(["Events", "Expiry", "Uploads"], functions.Keys.Order(StringComparer.Ordinal));

        var http = functions[UploadFunctions.UploadsFunction];
        Assert.Equal("dotnet-isolated", http.GetProperty("language").GetString());
        Assert.Equal("StorageBridge.Functions.dll", http.GetProperty("scriptFile").GetString());
        Assert.Equal("StorageBridge.Functions.UploadFunctions.RunUploadsAsync", http.GetProperty("entryPoint").GetString());
        var trigger = http.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "httpTrigger");
        Assert.Equal("uploads/{*rest}", trigger.GetProperty("route").GetString());
        Assert.Equal("Anonymous", trigger.GetProperty("authLevel").GetString());
        Assert.Equal(
            ["delete", "get", "head", "options", "patch", "post", "put"],
            trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!).Order(StringComparer.Ordinal));

        var timer = functions[UploadFunctions.ExpiryFunction];
        Assert.Equal("StorageBridge.Functions.UploadFunctions.RunExpiryAsync", timer.GetProperty("entryPoint").GetString());
        var schedule = timer.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "timerTrigger");
        Assert.Equal("0 */5 * * * *", schedule.GetProperty("schedule").GetString());

        var events = functions[EventFunctions.EventsFunction];
        Assert.Equal("StorageBridge.Functions.EventFunctions.RunEventsAsync", events.GetProperty("entryPoint").GetString());
        var eventSchedule = events.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "timerTrigger");
        Assert.Equal("0 */1 * * * *", eventSchedule.GetProperty("schedule").GetString());
    }

    [Fact]
    public void Host_json_serves_the_uploads_at_the_root_and_gives_appends_time()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(OutputDirectory, "host.json")));

        Assert.Equal("2.0", host.RootElement.GetProperty("version").GetString());
        // No "api/" prefix: the URLs are the Host's (/uploads/{target}/{id}), so clients and docs need no second layout.
        Assert.Equal("", host.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        Assert.Equal("00:30:00", host.RootElement.GetProperty("functionTimeout").GetString());
    }

    [Fact]
    public void The_trigger_route_is_the_hosts_upload_prefix()
    {
        Assert.Equal(FunctionsApp.UploadsPrefix + "/{*rest}", "/" + TriggerRoute.Read().Route);
    }
}
