namespace StorageBridge.Targets;

/// <summary>The configured targets by name (case-insensitive, like configuration keys).</summary>
public sealed class UploadTargetRegistry
{
    private readonly Dictionary<string, UploadTarget> _targets;

    public UploadTargetRegistry(IEnumerable<UploadTarget> targets)
    {
        _targets = targets.ToDictionary(t => t.Name, StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyCollection<UploadTarget> All => _targets.Values;

    public UploadTarget? Find(string name) => _targets.GetValueOrDefault(name);
}
