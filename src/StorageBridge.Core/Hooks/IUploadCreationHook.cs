namespace StorageBridge.Hooks;

/// <summary>
/// Decides whether an upload may be created, before the backend starts anything: it sees who creates what where, and
/// accepts (optionally choosing the object key and changing the metadata) or rejects with a status and a message the
/// client receives. Registered hooks run in registration order; each sees what earlier ones decided, the first
/// rejection ends the creation and nothing is stored. An exception from a hook fails the request (500): a hook that
/// depends on something that can be down answers <see cref="UploadCreationDecision.Unavailable"/> instead.
/// </summary>
public interface IUploadCreationHook
{
    ValueTask<UploadCreationDecision> OnCreatingAsync(UploadCreationContext creation, CancellationToken cancellationToken);
}
