using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore.Http;
using StorageBridge.Events;

namespace StorageBridge.AspNetCore;

/// <summary><c>POST {prefix}/events</c>: delivers the completion events that are due (what the hosted dispatcher does).</summary>
public static partial class MaintenanceEndpoints
{
    private static async Task DispatchEventsAsync(HttpContext context, byte[] expected)
    {
        var sent = context.Request.Headers[SecretHeader].ToString();
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(sent)), expected))
        {
            await ProblemResults.WriteAsync(context.Response, StatusCodes.Status403Forbidden, "about:blank", "Forbidden", $"{SecretHeader} is missing or wrong.").ConfigureAwait(false);
            return;
        }

        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MaintenanceEndpoints).FullName!);
        var events = await DispatchDueEventsAsync(context, logger).ConfigureAwait(false);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync("{" + events.TrimStart(','), context.RequestAborted).ConfigureAwait(false);
        await context.Response.WriteAsync("}", context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Up to <see cref="MaxRounds"/> dispatch rounds; returns <c>,"events":{...}</c> for the answer, or nothing when no sink is
    /// configured. Failures of single deliveries are the dispatcher's (retried); a failed listing is reported, not thrown.
    /// </summary>
    private static async Task<string> DispatchDueEventsAsync(HttpContext context, ILogger logger)
    {
        var dispatcher = context.RequestServices.GetRequiredService<CompletionEventDispatcher>();
        if (dispatcher.SinkNames.Count == 0)
        {
            return "";
        }

        try
        {
            var round = await dispatcher.DispatchAllDueAsync(MaxRounds, context.RequestAborted).ConfigureAwait(false);
            EventLog.Dispatched(logger, round.Delivered, round.Failed, round.DeadLettered, round.MoreDue);
            return string.Create(
                CultureInfo.InvariantCulture,
                $",\"events\":{{\"delivered\":{round.Delivered},\"failed\":{round.Failed},\"deadLettered\":{round.DeadLettered},\"more\":{(round.MoreDue ? "true" : "false")}}}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            EventLog.DispatchFailed(logger, ex);
            return ",\"events\":{\"error\":true}";
        }
    }

    private static partial class EventLog
    {
        [LoggerMessage(Diagnostics.EventIds.Events.MaintenanceDispatched, LogLevel.Information, "Maintenance event dispatch: {Delivered} delivered, {Failed} failed attempts, {DeadLettered} dead-lettered (more due: {More})")]
        public static partial void Dispatched(ILogger logger, int delivered, int failed, int deadLettered, bool more);

        [LoggerMessage(Diagnostics.EventIds.Events.MaintenanceDispatchFailed, LogLevel.Warning, "Maintenance event dispatch failed; the next call continues")]
        public static partial void DispatchFailed(ILogger logger, Exception exception);
    }
}
