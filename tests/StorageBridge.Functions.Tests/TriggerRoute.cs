using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using StorageBridge.Functions;

namespace StorageBridge.Functions.Tests;

/// <summary>The HTTP trigger's route and methods as its attribute declares them (what the worker SDK writes to functions.metadata).</summary>
public sealed record TriggerRoute(string Route, string[] Methods)
{
    public static TriggerRoute Read()
    {
        var method = typeof(UploadFunctions).GetMethod(nameof(UploadFunctions.RunUploadsAsync))!;
        var trigger = method.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).Single(a => a is not null)!;
        return new TriggerRoute(trigger.Route!, [.. trigger.Methods!.Select(m => m.ToUpperInvariant())]);
    }
}
