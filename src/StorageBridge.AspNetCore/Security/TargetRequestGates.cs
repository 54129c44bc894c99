namespace StorageBridge.AspNetCore.Security;

/// <summary>The registered <see cref="ITargetRequestGate"/>s in the order they run, sorted once.</summary>
internal sealed class TargetRequestGates(IEnumerable<ITargetRequestGate> gates)
{
    public IReadOnlyList<ITargetRequestGate> Gates { get; } = [.. gates.OrderBy(g => g.Order)];
}
