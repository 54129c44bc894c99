using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata;

/// <summary>
/// A process-local store (<c>Provider: InMemory</c>) for tests and experiments: same compare-and-swap semantics as the
/// durable stores, nothing survives a restart, and it cannot be shared between instances.
/// </summary>
public sealed class InMemoryUploadMetadataStore : IUploadMetadataStore
{
    private readonly ConcurrentDictionary<string, (string Json, long Version)> _records = new(StringComparer.Ordinal);
    private long _nextVersion;

    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<MetadataWriteResult> CreateAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var version = Interlocked.Increment(ref _nextVersion);
        return Task.FromResult(_records.TryAdd(record.Id, (UploadRecordJson.Serialize(record), version))
            ? MetadataWriteResult.Success(record with { Version = Format(version) })
            : MetadataWriteResult.Conflict);
    }

    public Task<UploadRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(_records.TryGetValue(id, out var entry) ? UploadRecordJson.Deserialize(entry.Json, Format(entry.Version)) : null);

    public Task<MetadataWriteResult> TryReplaceAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!_records.TryGetValue(record.Id, out var current))
        {
            return Task.FromResult(MetadataWriteResult.NotFound);
        }

        if (Format(current.Version) != record.Version)
        {
            return Task.FromResult(MetadataWriteResult.Conflict);
        }

        var version = Interlocked.Increment(ref _nextVersion);
        return Task.FromResult(_records.TryUpdate(record.Id, (UploadRecordJson.Serialize(record), version), current)
            ? MetadataWriteResult.Success(record with { Version = Format(version) })
            : MetadataWriteResult.Conflict);
    }

    public Task<MetadataWriteStatus> TryDeleteAsync(string id, string version, CancellationToken cancellationToken)
    {
        if (!_records.TryGetValue(id, out var current))
        {
            return Task.FromResult(MetadataWriteStatus.NotFound);
        }

        return Task.FromResult(Format(current.Version) == version && _records.TryRemove(new KeyValuePair<string, (string, long)>(id, current))
            ? MetadataWriteStatus.Success
            : MetadataWriteStatus.Conflict);
    }

    public async IAsyncEnumerable<UploadRecord> ListExpiredAsync(DateTimeOffset now, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var due = _records
            .Select(pair => UploadRecordJson.Deserialize(pair.Value.Json, Format(pair.Value.Version)))
            .Where(r => r.ExpiresAt is { } expires && expires <= now)
            .OrderBy(r => r.ExpiresAt)
            .Take(limit)
            .ToList();
        foreach (var record in due)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static string Format(long version) => version.ToString(CultureInfo.InvariantCulture);
}
