using Microsoft.Azure.Functions.Worker;
using StorageBridge.Events;

namespace StorageBridge.Functions;

/// <summary>
/// Completion events on a schedule: a scaled-in Function App runs no hosted dispatcher between requests, so the timer
/// delivers what is due (retries, events of instances that stopped). Does nothing when no sink is configured.
/// </summary>
public sealed class EventFunctions(CompletionEventDispatcher dispatcher)
{
    public const string EventsFunction = "Events";

    /// <summary>Every minute: retries become due after seconds to minutes (Events:RetryDelay, doubling).</summary>
    public const string EventsSchedule = "0 */1 * * * *";

    /// <summary>Dispatch rounds (100 records each) one invocation runs at most.</summary>
    public const int MaxRounds = 10;

    [Function(EventsFunction)]
    public async Task<EventDispatchRound> RunEventsAsync([TimerTrigger(EventsSchedule)] TimerInfo timer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        return dispatcher.SinkNames.Count == 0 ? default : await dispatcher.DispatchAllDueAsync(MaxRounds, cancellationToken);
    }
}
