using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using StorageBridge.Coordination;

namespace StorageBridge.Functions;

/// <summary>The Function App's two functions: every upload request, and the expiry pass on a schedule.</summary>
public sealed class UploadFunctions(UploadPipeline pipeline, UploadCoordinator coordinator)
{
    /// <summary>Names in the generated function metadata (functions.metadata) and in the portal.</summary>
    public const string UploadsFunction = "Uploads";

    public const string ExpiryFunction = "Expiry";

    /// <summary>Every 5 minutes: a scaled-in app runs no hosted timer, so expiry needs a trigger of its own.</summary>
    public const string ExpirySchedule = "0 */5 * * * *";

    /// <summary>
    /// Catch-all for the upload URLs (host.json routePrefix "" keeps them at /uploads/..., as on the Host). The response
    /// is written straight to the request's HttpContext by the bridge's endpoints; nothing is returned.
    /// </summary>
    [Function(UploadsFunction)]
    public Task RunUploadsAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "head", "post", "put", "patch", "delete", "options", Route = "uploads/{*rest}")]
        HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return pipeline.InvokeAsync(request.HttpContext);
    }

    /// <summary>The scheduled expiry pass (the Functions runtime logs each invocation and its outcome).</summary>
    [Function(ExpiryFunction)]
    public Task RunExpiryAsync([TimerTrigger(ExpirySchedule)] TimerInfo timer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        return ExpireAsync(coordinator, cancellationToken);
    }

    /// <summary>
    /// One expiry pass: expires due uploads (dropping their staged data), forgets old tombstones and lookups, round
    /// after round while full rounds come back, as the Host's expiry service does. Returns how many records were handled.
    /// </summary>
    public static async Task<int> ExpireAsync(UploadCoordinator coordinator, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(coordinator);
        int handled;
        var total = 0;
        do
        {
            handled = await coordinator.CleanupExpiredAsync(cancellationToken);
            total += handled;
        }
        while (handled >= 100);

        return total;
    }
}
