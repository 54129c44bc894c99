using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore.Download;
using StorageBridge.Backends;
using StorageBridge.AspNetCore.Protocols.Ietf;
using StorageBridge.AspNetCore.Protocols.Resumable;
using StorageBridge.AspNetCore.Protocols.Tus;
using StorageBridge.Coordination;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore;

/// <summary>
/// URL layout: <c>POST {prefix}/{target}</c> creates, <c>{prefix}/{target}/{id}</c> is the upload resource,
/// <c>GET {prefix}/{target}/{id}/content</c> downloads a completed upload.
/// </summary>
public static partial class ResumableUploadEndpoints
{
    private const string PrefixItem = "StorageBridge.Prefix";

    /// <summary>
    /// Maps the upload endpoints. Configuration is read and validated here already (bad configuration fails while the
    /// application is built); the metadata store is prepared when the host starts, before the first request.
    /// </summary>
    public static IEndpointConventionBuilder MapResumableUploads(this IEndpointRouteBuilder endpoints, string prefix = "/uploads")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.ServiceProvider.GetRequiredService<UploadCoordinator>();
        // Authentication settings too (an exposed target without credentials fails here), and the targets' schemes.
        endpoints.ServiceProvider.GetRequiredService<Security.TargetAuthentication>();
        endpoints.ServiceProvider.GetRequiredService<Security.TargetBrowserPolicies>(); // CORS and download settings, checked now

        var group = endpoints.MapGroup(prefix);
        // tus 1.0, the IETF draft and Resumable.js/Flow.js share these URLs: a request carrying Tus-Resumable is tus,
        // one carrying IETF fields is IETF, one naming a chunk (or with a multipart form body) is Resumable.js/Flow.js.
        group.MapMethods("/{target}", [HttpMethods.Post, HttpMethods.Put], WithTarget((ctx, target) => CreateAsync(ctx, target), prefix));
        group.MapMethods("/{target}", [HttpMethods.Get], WithTarget(
            (ctx, target) => ResumableUploadHandler.IsChunkTest(ctx.Request)
                ? Resumable(ctx).TestAsync(ctx, target)
                : NotFoundAsync(ctx, "Not a chunk test: GET on a target needs resumableChunkNumber (or flowChunkNumber)."), prefix));
        group.MapMethods("/{target}", [HttpMethods.Options], WithTarget((ctx, target) => OptionsAsync(ctx, target), prefix));
        group.MapMethods("/{target}/{id}", [HttpMethods.Head, HttpMethods.Get], WithUpload((ctx, target, id) => TusOr(ctx, target, id, Ietf(ctx).GetOffsetAsync), prefix));
        group.MapMethods("/{target}/{id}", [HttpMethods.Patch], WithUpload((ctx, target, id) => TusOr(ctx, target, id, Ietf(ctx).AppendAsync), prefix));
        group.MapMethods("/{target}/{id}", [HttpMethods.Delete], WithUpload((ctx, target, id) => TusOr(ctx, target, id, Ietf(ctx).CancelAsync), prefix));
        // tus X-HTTP-Method-Override arrives as a POST on the upload; only tus uses POST there.
        group.MapMethods("/{target}/{id}", [HttpMethods.Post], WithUpload((ctx, target, id) => Tus(ctx).HandleUploadAsync(ctx, target, id), prefix));
        group.MapMethods("/{target}/{id}", [HttpMethods.Options], WithUpload((ctx, target, _) => OptionsAsync(ctx, target), prefix));
        group.MapMethods("/{target}/{id}/content", [HttpMethods.Get, HttpMethods.Head], WithUpload(
            (ctx, target, id) => ctx.RequestServices.GetRequiredService<DownloadHandler>().DownloadAsync(ctx, target, id), prefix));
        return group;
    }

    internal static string UploadPath(HttpContext context, string target, string id) =>
        $"{(context.Items.TryGetValue(PrefixItem, out var prefix) ? prefix : "/uploads")}/{Uri.EscapeDataString(target)}/{id}";

    private static IetfUploadHandler Ietf(HttpContext context) => context.RequestServices.GetRequiredService<IetfUploadHandler>();

    private static TusUploadHandler Tus(HttpContext context) => context.RequestServices.GetRequiredService<TusUploadHandler>();

    private static ResumableUploadHandler Resumable(HttpContext context) => context.RequestServices.GetRequiredService<ResumableUploadHandler>();

    private static Task CreateAsync(HttpContext context, UploadTarget target)
    {
        var request = context.Request;
        if (TusUploadHandler.IsTusRequest(request))
        {
            return Tus(context).CreateAsync(context, target);
        }

        return !IetfUploadHandler.IsIetfRequest(request) && ResumableUploadHandler.IsChunkUpload(request)
            ? Resumable(context).UploadAsync(context, target)
            : Ietf(context).CreateIfIetfAsync(context, target);
    }

    private static Task TusOr(HttpContext context, UploadTarget target, string id, Func<HttpContext, UploadTarget, string, Task> ietf) =>
        TusUploadHandler.IsTusRequest(context.Request) ? Tus(context).HandleUploadAsync(context, target, id) : ietf(context, target, id);

    /// <summary>OPTIONS is answered for both protocols at once (tus clients send no Tus-Resumable on OPTIONS).</summary>
    private static Task OptionsAsync(HttpContext context, UploadTarget target)
    {
        Ietf(context).Options(context, target);
        Tus(context).WriteOptions(context, target);
        return Task.CompletedTask;
    }

    private static Task CreateIfIetfAsync(this IetfUploadHandler handler, HttpContext context, UploadTarget target)
    {
        if (IetfUploadHandler.IsIetfRequest(context.Request))
        {
            return handler.CreateAsync(context, target);
        }

        return Http.ProblemResults.WriteAsync(
            context.Response, StatusCodes.Status400BadRequest, "about:blank", "Bad Request",
            "Not a resumable upload request: send Upload-Complete (IETF resumable uploads) with Upload-Draft-Interop-Version.");
    }

    private static RequestDelegate WithTarget(Func<HttpContext, UploadTarget, Task> handler, string prefix) => async context =>
    {
        context.Items[PrefixItem] = prefix;
        var registry = context.RequestServices.GetRequiredService<UploadTargetRegistry>();
        var target = registry.Find(context.GetRouteValue("target") as string ?? "");
        if (target is null)
        {
            await NotFoundAsync(context, "No such target.");
            return;
        }

        // Everything logged while this request runs (engine, backend, store) carries the target and the upload id.
        using var scope = context.RequestServices.GetRequiredService<ILogger<UploadCoordinator>>()
            .BeginScope(new UploadLogScope(target.Name, context.GetRouteValue("id") as string));

        var body = Http.GuardedRequestBody.For(context);
        context.Request.Body = body;
        try
        {
            foreach (var gate in context.RequestServices.GetRequiredService<Security.TargetRequestGates>().Gates)
            {
                if (!await gate.PassAsync(context, target))
                {
                    return;
                }
            }

            await handler(context, target);
            if (body.Failure is IOException refused && !context.Response.HasStarted)
            {
                await RefusedBodyAsync(context, body.Status, refused);
            }

            if (body.Unfinished && context.RequestServices.GetService<Hosting.ShutdownSignal>() is { IsStopping: true })
            {
                // Shutting down with an append cut short: the rest of the body is not wanted, and Kestrel would drain
                // it from a client that keeps it open until the shutdown timeout. Answer, then drop the connection;
                // a client that loses the answer with it finds the kept offset with HEAD, as after any cut.
                await context.Response.CompleteAsync();
                context.Abort();
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client is gone; there is nobody to answer.
        }
        catch (Limits.UploadLimitException refused) when (!context.Response.HasStarted)
        {
            await Limits.LimitAnswers.WriteAsync(context, refused.Refusal);
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            await WriteFailureAsync(context, ex);
        }
    };

    /// <summary>
    /// The record is consistent whatever failed (the engine only records durable bytes), so the client may always
    /// resume from the offset HEAD reports; what differs is whether retrying can help. Only a failure the backend or
    /// store classified as transient (outage, throttling, timeout, dropped connection) answers 503 with Retry-After; a
    /// backend's permanent refusal (access denied, missing bucket) answers 502; a request body Kestrel refused (broken
    /// framing, too slow) answers its 4xx; anything else is a bug and answers 500, never "retry" (a third-party backend
    /// that lets an unclassified network error through is a bug too: <see cref="StorageFailures"/> classifies them).
    /// </summary>
    private static Task WriteFailureAsync(HttpContext context, Exception exception)
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ResumableUploadEndpoints).FullName!);
        var (method, path) = (context.Request.Method, context.Request.Path.ToString());
        context.Response.Clear();
        switch (exception)
        {
            case StorageBackendException { IsTransient: true } failure:
                logger.LogStorageUnavailable(failure, method, path, failure.Backend);
                return ServiceUnavailableAsync(context);
            case StorageBackendException failure:
                logger.LogStorageRefused(failure, method, path, failure.Backend);
                // Built from the classified fields only: provider messages can carry URLs and account names.
                return Http.ProblemResults.WriteAsync(
                    context.Response, StatusCodes.Status502BadGateway, "about:blank", "Bad Gateway",
                    $"{failure.Backend} refused the request ({Describe(failure)}); retrying will not help until its configuration changes.");
            case BadHttpRequestException badRequest:
                // Kestrel's own verdict on the request body (its message names the framing problem, never a secret).
                return Http.ProblemResults.WriteAsync(
                    context.Response, badRequest.StatusCode, "about:blank", ReasonPhrases.GetReasonPhrase(badRequest.StatusCode),
                    badRequest.Message);
            default:
                logger.LogRequestFailed(exception, method, path);
                return Http.ProblemResults.WriteAsync(
                    context.Response, StatusCodes.Status500InternalServerError, "about:blank", "Internal Server Error",
                    "The request failed unexpectedly; the upload keeps the offset HEAD reports.");
        }
    }

    /// <summary>
    /// Reading the request body failed (Kestrel refused it: bad chunked framing, a chunk size that overflows, a body
    /// too slow for its data rate; or it broke off): the engine kept the bytes that arrived before that point, as for
    /// any body that breaks off, but the request never answers 2xx. The protocol's headers already set
    /// (Upload-Offset, Tus-Resumable, ...) stay: they describe what was stored.
    /// </summary>
    private static Task RefusedBodyAsync(HttpContext context, int status, IOException refused)
    {
        context.Response.Headers.ContentLength = null;
        return Http.ProblemResults.WriteAsync(
            context.Response, status, "about:blank", ReasonPhrases.GetReasonPhrase(status),
            "The request body was refused (" + refused.Message + "); the upload keeps the offset HEAD reports.");
    }

    private static Task ServiceUnavailableAsync(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        return Http.ProblemResults.WriteAsync(
            context.Response, StatusCodes.Status503ServiceUnavailable, "about:blank", "Service Unavailable",
            "The storage backend or metadata store is unavailable; retry after retrieving the offset.");
    }

    private static string Describe(StorageBackendException failure) => (failure.StatusCode, failure.ErrorCode) switch
    {
        (int status, string code) => $"{code}, status {status}",
        (int status, null) => $"status {status}",
        (null, string code) => code,
        _ => "no detail",
    };

    private static RequestDelegate WithUpload(Func<HttpContext, UploadTarget, string, Task> handler, string prefix) =>
        WithTarget((context, target) => handler(context, target, context.GetRouteValue("id") as string ?? ""), prefix);

    private static Task NotFoundAsync(HttpContext context, string detail) =>
        Http.ProblemResults.WriteAsync(context.Response, StatusCodes.Status404NotFound, "about:blank", "Not Found", detail);

    [LoggerMessage(Diagnostics.EventIds.Endpoint.RequestFailed, LogLevel.Error, "{Method} {Path} failed unexpectedly; answered 500")]
    private static partial void LogRequestFailed(this ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(Diagnostics.EventIds.Endpoint.StorageUnavailable, LogLevel.Warning, "{Method} {Path}: {Backend} is unavailable; answered 503")]
    private static partial void LogStorageUnavailable(this ILogger logger, Exception exception, string method, string path, string backend);

    [LoggerMessage(Diagnostics.EventIds.Endpoint.StorageRefused, LogLevel.Error, "{Method} {Path}: {Backend} refused the request; answered 502")]
    private static partial void LogStorageRefused(this ILogger logger, Exception exception, string method, string path, string backend);
}
