using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using StorageBridge.Hooks;

namespace StorageBridge.AspNetCore.Hooks;

/// <summary>How the front-ends answer a creation a hook refused (<see cref="Coordination.UploadOutcome.Rejected"/>).</summary>
internal static class CreationRejections
{
    /// <summary>IETF: problem details with the hook's status and its message as <c>detail</c>.</summary>
    public static Task WriteProblemAsync(HttpContext context, UploadCreationRejection rejection)
    {
        WriteRetryAfter(context, rejection);
        return Http.ProblemResults.WriteAsync(
            context.Response, rejection.Status, "about:blank", ReasonPhrases.GetReasonPhrase(rejection.Status), rejection.Message);
    }

    public static void WriteRetryAfter(HttpContext context, UploadCreationRejection rejection)
    {
        if (rejection.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// Resumable.js / Flow.js: the status the chunk is answered with. Resumable.js 1.1.0 stops only on its
    /// permanentErrors (400, 404, 415, 500, 501) and retries anything else up to maxChunkRetries (100) times, each
    /// retry asking the hook again; Flow.js 2.14.1 retries nothing by default. So a hook's 4xx that Resumable.js
    /// would retry (401, 403, 409, 413, 422, 429...) is answered 400, the message still saying why; 400, 404, 415
    /// and the 5xx (503 when the webhook is down: worth retrying) keep their status.
    /// </summary>
    public static int ChunkStatus(UploadCreationRejection rejection)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        return rejection.Status is 400 or 404 or 415 or >= 500 ? rejection.Status : StatusCodes.Status400BadRequest;
    }
}

/// <summary>A chunk upload's creation was refused by a hook (thrown below the chunk machine, answered by it).</summary>
internal sealed class CreationRejectedException(UploadCreationRejection rejection) : Exception(rejection.Message)
{
    public UploadCreationRejection Rejection { get; } = rejection;
}
