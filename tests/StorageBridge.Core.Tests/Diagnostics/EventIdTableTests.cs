using System.Reflection;
using Microsoft.Extensions.Logging;
using StorageBridge.Diagnostics;

namespace StorageBridge.Core.Tests.Diagnostics;

/// <summary>
/// Every <c>[LoggerMessage]</c> of every StorageBridge assembly takes its id from <see cref="EventIds"/>, and no two
/// events share one: a log filter on an id selects exactly one event.
/// </summary>
public sealed class EventIdTableTests
{
    // The libraries that log; the test project references each one so its assembly sits next to the tests.
    private static readonly string[] LibraryNames =
    [
        "StorageBridge.Core",
        "StorageBridge.AspNetCore",
        "StorageBridge.Backends.S3",
        "StorageBridge.Backends.AzureBlob",
        "StorageBridge.Backends.Gcs",
        "StorageBridge.Metadata.Sqlite",
        "StorageBridge.Metadata.Cosmos",
        "StorageBridge.Metadata.Postgres",
        "StorageBridge.Metadata.DynamoDb",
        "StorageBridge.Events.AzureQueues",
        "StorageBridge.Events.Sqs",
        "StorageBridge.Testing",
    ];

    [Fact]
    public void The_table_holds_each_id_once()
    {
        var table = TableEntries();
        var repeated = table.GroupBy(e => e.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Name))}");
        Assert.Empty(repeated);
        Assert.True(table.Count >= 30, $"the table lists {table.Count} ids");
    }

    [Fact]
    public void Every_logged_event_uses_an_id_of_the_table_and_no_id_twice()
    {
        var events = LoggedEvents();
        var tableIds = TableEntries().ToDictionary(e => e.Id, e => e.Name);

        Assert.Empty(events.Where(e => !tableIds.ContainsKey(e.Id)).Select(e => $"{e.Method} uses {e.Id}, not in EventIds"));
        Assert.Empty(events.GroupBy(e => e.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Method))}"));
        // And the table lists no event that no longer exists.
        Assert.Empty(tableIds.Keys.Except(events.Select(e => e.Id)).Select(id => $"{tableIds[id]} ({id}) is used by no event"));
    }

    private static List<(string Name, int Id)> TableEntries() =>
        typeof(EventIds).GetNestedTypes(BindingFlags.Public)
            .SelectMany(area => area.GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f.IsLiteral && f.FieldType == typeof(int))
                .Select(f => ($"{area.Name}.{f.Name}", (int)f.GetRawConstantValue()!)))
            .ToList();

    private static List<(string Method, int Id)> LoggedEvents()
    {
        var events = new List<(string, int)>();
        foreach (var name in LibraryNames)
        {
            var assembly = Assembly.Load(new AssemblyName(name));
            foreach (var type in assembly.GetTypes())
            {
                const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
                foreach (var method in type.GetMethods(all))
                {
                    if (method.GetCustomAttribute<LoggerMessageAttribute>() is { } attribute)
                    {
                        events.Add(($"{type.FullName}.{method.Name}", attribute.EventId));
                    }
                }
            }
        }

        // Guards against a vacuous pass (the attribute lost from metadata, an assembly not loaded).
        Assert.True(events.Count >= 30, $"found {events.Count} [LoggerMessage] methods");
        return events;
    }
}
