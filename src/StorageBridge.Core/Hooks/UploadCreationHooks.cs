using Microsoft.Extensions.Logging;
using StorageBridge.Diagnostics;
using StorageBridge.Targets;

namespace StorageBridge.Hooks;

/// <summary>What the creation hooks decided: a rejection, or the object key (prefix applied) and metadata to create with.</summary>
internal sealed record CreationVerdict(UploadCreationRejection? Rejection, string? ObjectKey, IReadOnlyDictionary<string, string>? Metadata);

/// <summary>Runs the registered <see cref="IUploadCreationHook"/>s in order for one creation (the engine's side of hooks).</summary>
internal sealed partial class UploadCreationHooks
{
    public static readonly UploadCreationHooks None = new([], Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    private static readonly CreationVerdict AcceptedAsIs = new(null, null, null);
    private readonly IUploadCreationHook[] _hooks;
    private readonly ILogger _logger;

    public UploadCreationHooks(IEnumerable<IUploadCreationHook> hooks, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(hooks);
        _hooks = [.. hooks];
        _logger = logger;
    }

    public int Count => _hooks.Length;

    public Task<CreationVerdict> DecideAsync(Coordination.CreateUploadRequest request, UploadTarget target, string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _hooks.Length == 0
            ? Task.FromResult(AcceptedAsIs)
            : DecideAsync(
                new UploadCreationContext
                {
                    Target = target.Name,
                    Protocol = request.Protocol,
                    Owner = request.Owner,
                    Principal = request.Principal,
                    Length = request.Length,
                    ContentType = request.ContentType,
                    FileName = request.FileName,
                    Metadata = request.Metadata ?? Uploads.UploadRecord.EmptyMetadata,
                },
                target,
                prefix,
                cancellationToken);
    }

    public Task<CreationVerdict> DecideAsync(Coordination.ConcatenateRequest request, long length, UploadTarget target, string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _hooks.Length == 0
            ? Task.FromResult(AcceptedAsIs)
            : DecideAsync(
                new UploadCreationContext
                {
                    Target = target.Name,
                    Protocol = request.Protocol,
                    Owner = request.Owner,
                    Principal = request.Principal,
                    Length = length,
                    ContentType = request.ContentType,
                    FileName = request.FileName,
                    Metadata = request.Metadata ?? Uploads.UploadRecord.EmptyMetadata,
                    ConcatenationSources = request.SourceIds,
                },
                target,
                prefix,
                cancellationToken);
    }

    /// <summary>
    /// Asks every hook in turn; the first rejection wins. A key a hook chose is checked here (<see cref="HookObjectKeys"/>):
    /// an invalid one refuses the creation with 500 and an error in the log, it never reaches a backend.
    /// </summary>
    /// <param name="prefix">The target's prefix as it applies to this creation (claims filled in): hook keys go below it.</param>
    public async Task<CreationVerdict> DecideAsync(UploadCreationContext creation, UploadTarget target, string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(creation);
        ArgumentNullException.ThrowIfNull(target);
        if (_hooks.Length == 0)
        {
            return AcceptedAsIs;
        }

        Dictionary<string, string>? metadata = null;
        foreach (var hook in _hooks)
        {
            var decision = await hook.OnCreatingAsync(creation, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Creation hook {hook.GetType().Name} answered null.");
            if (decision.Rejection is { } rejection)
            {
                LogRejected(_logger, creation.Target, creation.Protocol, hook.GetType().Name, rejection.Status);
                return new CreationVerdict(rejection, null, null);
            }

            if (decision.ObjectKey is { } key)
            {
                if (HookObjectKeys.Problem(prefix, key) is { } problem)
                {
                    LogInvalidKey(_logger, creation.Target, hook.GetType().Name, problem);
                    return new CreationVerdict(InvalidKey, null, null);
                }

                creation = creation with { ObjectKey = key };
            }

            if (decision.Metadata is { Count: > 0 } changes)
            {
                metadata ??= new Dictionary<string, string>(creation.Metadata, StringComparer.Ordinal);
                foreach (var (name, value) in changes)
                {
                    metadata[name] = value;
                }

                creation = creation with { Metadata = new Dictionary<string, string>(metadata, StringComparer.Ordinal) };
            }
        }

        return new CreationVerdict(null, creation.ObjectKey is { } chosen ? prefix + chosen : null, metadata);
    }

    /// <summary>500: a hook's invalid key is the hook's bug, not the client's; the message names nothing of the key.</summary>
    private static readonly UploadCreationRejection InvalidKey =
        new(500, "The upload was not created: a creation hook chose an invalid object key.");

    [LoggerMessage(EventIds.Hooks.Rejected, LogLevel.Information, "Creation on target {Target} ({Protocol}) rejected by {Hook} with {Status}")]
    private static partial void LogRejected(ILogger logger, string target, string protocol, string hook, int status);

    [LoggerMessage(EventIds.Hooks.InvalidObjectKey, LogLevel.Error, "Creation hook {Hook} chose an invalid object key on target {Target} ({Problem}); the creation was refused with 500")]
    private static partial void LogInvalidKey(ILogger logger, string target, string hook, string problem);
}
