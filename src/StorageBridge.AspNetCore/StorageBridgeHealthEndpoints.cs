using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StorageBridge.AspNetCore;

/// <summary>
/// Liveness and readiness for orchestrators. <c>AddStorageBridge</c> registers the readiness check (tag
/// <see cref="ReadyTag"/>): the metadata store and every target answer one cheap call. The application's own health
/// checks join readiness when they carry the same tag.
/// </summary>
public static class StorageBridgeHealthEndpoints
{
    /// <summary>The tag of checks that <c>{prefix}/ready</c> runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>The name of the bridge's own readiness check.</summary>
    public const string ReadinessCheckName = "storagebridge";

    /// <summary>
    /// Maps <c>{prefix}/live</c> (200 while the process serves requests; checks no dependency, so a storage outage
    /// never restarts the instance) and <c>{prefix}/ready</c> (200 when every check tagged <see cref="ReadyTag"/>
    /// passes, else 503; the body is JSON naming each dependency and what failed).
    /// </summary>
    public static IEndpointConventionBuilder MapStorageBridgeHealthChecks(this IEndpointRouteBuilder endpoints, string prefix = "/healthz")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup(prefix);
        group.MapHealthChecks("/live", new HealthCheckOptions { Predicate = _ => false });
        group.MapHealthChecks("/ready", new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(ReadyTag),
            ResponseWriter = WriteReportAsync,
        });
        return group;
    }

    private static async Task WriteReportAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            if (entry.Description is { } description)
            {
                json.WriteString("description", description);
            }

            foreach (var (key, value) in entry.Data)
            {
                json.WriteString(key, value?.ToString());
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
