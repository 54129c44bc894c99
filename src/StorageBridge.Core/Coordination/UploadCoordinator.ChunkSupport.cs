using Microsoft.Extensions.Logging;
using StorageBridge.Diagnostics;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>What the numbered-chunk path (UploadCoordinator.Chunks*.cs) uses of the engine.</summary>
public sealed partial class UploadCoordinator
{
    private static readonly TimeSpan SalvageTimeout = EngineContext.SalvageTimeout;

    private DateTimeOffset Now => _engine.Now;

    /// <summary>An append of the engine's own callers (the numbered-chunk path), with the options only they may set.</summary>
    internal Task<AppendResult> AppendAsync(AppendRequest request, Stream body, AppendOptions options, CancellationToken cancellationToken) =>
        _append.AppendAsync(request, body, options, cancellationToken);

    /// <summary>Creates an upload under an id the caller drew (<see cref="UploadIds.New"/>), e.g. one a lookup record already names.</summary>
    private Task<CreateResult> CreateWithIdAsync(CreateUploadRequest request, string id, CancellationToken cancellationToken) =>
        _admission.CreateAsync(request, id, cancellationToken);

    private Task<UploadRecord?> LoadAsync(string target, string id, CancellationToken cancellationToken) =>
        _engine.LoadAsync(target, id, cancellationToken);

    private UploadOutcome? StateOutcome(UploadRecord record) => _engine.StateOutcome(record);

    private bool LeaseHeldByOther(UploadRecord record) => _leases.HeldByOther(record);

    /// <summary>Finishes a completion interrupted between the backend commit and the metadata write (idempotent commit).</summary>
    private Task<UploadRecord?> FinishCompletionAsync(UploadRecord record, CancellationToken cancellationToken) =>
        _completion.FinishAsync(record, cancellationToken);

    /// <summary>The engine's events the chunk path writes too (defined once, in <see cref="EngineLog"/>).</summary>
    private static partial class Log
    {
        public static void UploadCompleted(ILogger logger, string uploadId, long length, string objectKey) =>
            EngineLog.UploadCompleted(logger, uploadId, length, objectKey);

        public static void CleanupFailed(ILogger logger, string uploadId, Exception exception) =>
            EngineLog.CleanupFailed(logger, uploadId, exception);
    }
}
