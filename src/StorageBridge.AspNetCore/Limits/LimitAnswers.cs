using System.Globalization;
using Microsoft.AspNetCore.Http;
using StorageBridge.AspNetCore.Http;
using StorageBridge.AspNetCore.Protocols.Tus;
using StorageBridge.Coordination;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Limits;

/// <summary>A limit's refusal: the status and the sentence the client sees.</summary>
internal sealed record LimitRefusal(int Status, string Title, string Message);

/// <summary>
/// How the front-ends answer a limit: tus in plain text with Tus-Resumable (as every tus error), everything else as
/// problem details. 429 carries Retry-After in whole seconds when waiting helps.
/// </summary>
internal static class LimitAnswers
{
    /// <summary>The refusal for a creation the engine refused on a limit, or null when the outcome is not one.</summary>
    public static LimitRefusal? For(UploadOutcome outcome, LimitKind limit, UploadTarget target)
    {
        var quotas = target.Options.Quotas;
        return (outcome, limit) switch
        {
            (UploadOutcome.MetadataTooLarge, LimitKind.MaxFileNameLength) => new(StatusCodes.Status400BadRequest, "File name too long",
                $"The file name is longer than this target's MaxFileNameLength of {quotas.MaxFileNameLength} UTF-8 bytes; nothing was stored."),
            (UploadOutcome.MetadataTooLarge, _) => new(StatusCodes.Status400BadRequest, "Metadata too large",
                $"The upload's metadata is larger than this target's MaxMetadataSize of {quotas.MaxMetadataSize} UTF-8 bytes (keys and values); nothing was stored."),
            (UploadOutcome.TooManyOpenUploads, _) => new(StatusCodes.Status429TooManyRequests, "Too many open uploads",
                $"You already have {quotas.MaxOpenUploads} open uploads on this target (MaxOpenUploads); complete or cancel one, or let one expire, before creating another. Nothing was stored."),
            (UploadOutcome.TooManySources, _) => TooManySources(quotas),
            _ => null,
        };
    }

    public static LimitRefusal TooManySources(TargetQuotas quotas) => new(StatusCodes.Status400BadRequest, "Too many sources",
        $"A concatenation may join at most {quotas.MaxConcatSources} uploads on this target (MaxConcatSources); nothing was stored.");

    /// <summary>Writes <paramref name="refusal"/> in the request's protocol.</summary>
    public static Task WriteAsync(HttpContext context, LimitRefusal refusal, TimeSpan? retryAfter = null)
    {
        var response = context.Response;
        if (retryAfter is { } wait)
        {
            response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        if (TusUploadHandler.IsTusRequest(context.Request))
        {
            response.StatusCode = refusal.Status;
            response.Headers[TusUploadHandler.HeaderName] = TusHeaders.Version;
            response.ContentType = "text/plain; charset=utf-8";
            return response.WriteAsync(refusal.Message + "\n", context.RequestAborted);
        }

        return ProblemResults.WriteAsync(response, refusal.Status, "about:blank", refusal.Title, refusal.Message);
    }
}

/// <summary>
/// A creation refused on a limit where the front-end has no answer path of its own (Resumable.js/Flow.js create inside
/// their chunk machinery); the endpoint answers it with <see cref="Refusal"/>.
/// </summary>
internal sealed class UploadLimitException(LimitRefusal refusal) : Exception(refusal.Message)
{
    public LimitRefusal Refusal { get; } = refusal;
}
