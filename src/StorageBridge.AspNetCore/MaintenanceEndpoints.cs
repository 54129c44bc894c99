using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StorageBridge.AspNetCore.Http;
using StorageBridge.Backends;
using StorageBridge.Configuration;
using StorageBridge.Coordination;

namespace StorageBridge.AspNetCore;

/// <summary>
/// <c>POST {prefix}/expire</c>: one expiry sweep (what the hosted timer does every CleanupInterval), for hosts
/// without a running timer. Protected by a shared secret from configuration, compared in constant time.
/// </summary>
public static partial class MaintenanceEndpoints
{
    /// <summary>The request header carrying the secret.</summary>
    public const string SecretHeader = "X-StorageBridge-Maintenance-Secret";

    /// <summary>Sweep rounds (100 records each) one call runs at most, so one invocation stays short; the answer says whether more is due.</summary>
    public const int MaxRounds = 10;

    /// <summary>
    /// Maps <c>POST {prefix}/expire</c>. Refuses (StorageBridgeConfigurationException naming the key) unless
    /// <c>StorageBridge:Maintenance:Secret</c> holds at least <see cref="StorageBridgeMaintenanceOptions.MinSecretLength"/> characters.
    /// </summary>
    public static IEndpointConventionBuilder MapStorageBridgeMaintenance(this IEndpointRouteBuilder endpoints, string prefix = "/maintenance")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        services.GetRequiredService<UploadCoordinator>();
        var options = services.GetRequiredService<IOptions<StorageBridgeMaintenanceOptions>>().Value;
        if (options.Secret is not { Length: >= StorageBridgeMaintenanceOptions.MinSecretLength } secret || string.IsNullOrWhiteSpace(secret))
        {
            var key = ConfigurationBinding.Key(services.GetRequiredService<StorageBridgeConfigurationSource>().Path + ":Maintenance", "Secret");
            throw new StorageBridgeConfigurationException(
                key, $"the maintenance endpoint needs a shared secret of at least {StorageBridgeMaintenanceOptions.MinSecretLength} characters; it is not mapped without one.");
        }

        // Hashes of equal length: FixedTimeEquals then takes the same time whatever the caller sent.
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        var group = endpoints.MapGroup(prefix);
        group.MapPost("/expire", context => ExpireAsync(context, expected));
        group.MapPost("/events", context => DispatchEventsAsync(context, expected));
        return group;
    }

    private static async Task ExpireAsync(HttpContext context, byte[] expected)
    {
        var sent = context.Request.Headers[SecretHeader].ToString();
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(sent)), expected))
        {
            await ProblemResults.WriteAsync(context.Response, StatusCodes.Status403Forbidden, "about:blank", "Forbidden", $"{SecretHeader} is missing or wrong.").ConfigureAwait(false);
            return;
        }

        var coordinator = context.RequestServices.GetRequiredService<UploadCoordinator>();
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MaintenanceEndpoints).FullName!);
        var handled = 0;
        var more = false;
        try
        {
            for (var round = 0; round < MaxRounds; round++)
            {
                var count = await coordinator.CleanupExpiredAsync(context.RequestAborted).ConfigureAwait(false);
                handled += count;
                more = count >= 100;
                if (!more)
                {
                    break;
                }
            }
        }
        catch (StorageBackendException failure)
        {
            Log.SweepFailed(logger, failure, handled);
            context.Response.Headers.RetryAfter = failure.IsTransient ? "1" : default;
            await ProblemResults.WriteAsync(
                context.Response,
                failure.IsTransient ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status502BadGateway,
                "about:blank",
                failure.IsTransient ? "Service Unavailable" : "Bad Gateway",
                $"{failure.Backend} failed during the sweep after {handled} records; the next call continues.").ConfigureAwait(false);
            return;
        }

        Log.Swept(logger, handled, more);

        // Hosts without a running timer (AWS Lambda) deliver the completion events other requests left due here too.
        var events = await DispatchDueEventsAsync(context, logger).ConfigureAwait(false);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($"{{\"handled\":{handled},\"more\":{(more ? "true" : "false")}{events}}}", context.RequestAborted).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.Maintenance.Swept, LogLevel.Information, "Maintenance expiry sweep handled {Count} records (more due: {More})")]
        public static partial void Swept(ILogger logger, int count, bool more);

        [LoggerMessage(Diagnostics.EventIds.Maintenance.SweepFailed, LogLevel.Warning, "Maintenance expiry sweep failed after {Count} records")]
        public static partial void SweepFailed(ILogger logger, Exception exception, int count);
    }
}
