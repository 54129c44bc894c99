using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore.Http;
using StorageBridge.AspNetCore.Protocols.Ietf;
using StorageBridge.AspNetCore.Protocols.Tus;
using StorageBridge.AspNetCore.Security;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Limits;

/// <summary>
/// Per-principal rate limits of a target (<c>Limits:CreationsPerMinute</c>, <c>Limits:BytesPerSecond</c>), after
/// authentication: the principal is the request's owner (<see cref="UploadPrincipals.OwnerOf(HttpContext)"/>), or the
/// client's IP address for anonymous requests. A creation over its rate answers 429 with Retry-After; a request body
/// is slowed to the byte rate as it is read, and a request with a body arriving while the principal's bytes are used
/// up (others of its requests are already waiting) answers 429 with Retry-After.
/// </summary>
internal sealed partial class RateLimitGate(TargetRateLimiters limiters, ILogger<RateLimitGate> logger) : ITargetRequestGate
{
    public int Order => TargetGateOrder.RateLimits;

    public async ValueTask<bool> PassAsync(HttpContext context, UploadTarget target)
    {
        var quotas = target.Options.Quotas;
        if (quotas.CreationsPerMinute is null && quotas.BytesPerSecond is null && quotas.MaxOpenUploads is null)
        {
            return true;
        }

        var owner = UploadPrincipals.OwnerOf(context);
        var client = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var partition = owner is not null ? "owner:" + owner : "client:" + client;
        if (owner is null)
        {
            // The engine counts an anonymous creation's open uploads against this claim (an unauthenticated identity:
            // the request stays anonymous).
            context.User.AddIdentity(new ClaimsIdentity([new Claim(TargetQuotas.AnonymousClientClaim, client)]));
        }

        if (limiters.Creations(target) is { } creations && IsCreation(context))
        {
            using var lease = creations.AttemptAcquire(partition);
            if (!lease.IsAcquired)
            {
                var retry = lease.TryGetMetadata(System.Threading.RateLimiting.MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                LogCreationRateExceeded(logger, target.Name, owner is null, retry.TotalSeconds);
                await LimitAnswers.WriteAsync(context, new LimitRefusal(StatusCodes.Status429TooManyRequests, "Too many creations",
                    $"More than {quotas.CreationsPerMinute} uploads created per minute on this target (CreationsPerMinute); retry after Retry-After seconds."), retry);
                return false;
            }
        }

        if (limiters.Bytes(target) is { } bytes && HasBody(context.Request))
        {
            if (bytes.Exhausted(partition) is { } wait)
            {
                LogByteRateExceeded(logger, target.Name, owner is null, wait.TotalSeconds);
                await LimitAnswers.WriteAsync(context, new LimitRefusal(StatusCodes.Status429TooManyRequests, "Byte rate exceeded",
                    $"Your requests already use this target's BytesPerSecond of {quotas.BytesPerSecond}; retry after Retry-After seconds."), wait);
                return false;
            }

            if (context.Request.Body is GuardedRequestBody body)
            {
                var throttle = bytes.Throttle(partition);
                context.Response.RegisterForDispose(throttle);
                body.Throttle = throttle.ConsumeAsync;
            }
        }

        return true;
    }

    [LoggerMessage(Diagnostics.EventIds.Limits.CreationRateExceeded, LogLevel.Information,
        "Target {Target}: creation over CreationsPerMinute refused with 429 (anonymous: {Anonymous}, retry after {RetryAfterSeconds} s)")]
    private static partial void LogCreationRateExceeded(ILogger logger, string target, bool anonymous, double retryAfterSeconds);

    [LoggerMessage(Diagnostics.EventIds.Limits.ByteRateExceeded, LogLevel.Information,
        "Target {Target}: request while the principal's BytesPerSecond is used up refused with 429 (anonymous: {Anonymous}, retry after {RetryAfterSeconds} s)")]
    private static partial void LogByteRateExceeded(ILogger logger, string target, bool anonymous, double retryAfterSeconds);

    /// <summary>
    /// A request that creates an upload: a tus or IETF POST/PUT on the target, or a Resumable.js/Flow.js chunk 1 (each
    /// file has exactly one) named in the query string, where the libraries send their fields also with multipart bodies.
    /// </summary>
    private static bool IsCreation(HttpContext context)
    {
        var request = context.Request;
        if (context.GetRouteValue("id") is not null || !(HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method)))
        {
            return false;
        }

        if (TusUploadHandler.IsTusRequest(request) || IetfUploadHandler.IsIetfRequest(request))
        {
            return true;
        }

        var chunk = request.Query["resumableChunkNumber"].ToString() is { Length: > 0 } resumable ? resumable : request.Query["flowChunkNumber"].ToString();
        return chunk == "1";
    }

    private static bool HasBody(HttpRequest request) =>
        request.ContentLength is > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
}
