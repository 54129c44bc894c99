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
    private readonly ConcurrentDictionary<string, UploadLookup> _lookups = new(StringComparer.Ordinal);
    private long _nextVersion;

    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<MetadataWriteResult> CreateAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<MetadataWriteResult>(cancellationToken);
        }

        var version = Interlocked.Increment(ref _nextVersion);
        return Task.FromResult(_records.TryAdd(record.Id, (UploadRecordJson.Serialize(record), version))
            ? MetadataWriteResult.Success(record with { Version = Format(version) })
            : MetadataWriteResult.Conflict);
    }

    public Task<UploadRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled<UploadRecord?>(cancellationToken) : Task.FromResult(_records.TryGetValue(id, out var entry) ? UploadRecordJson.Deserialize(entry.Json, Format(entry.Version)) : null);

    public Task<MetadataWriteResult> TryReplaceAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<MetadataWriteResult>(cancellationToken);
        }

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
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<MetadataWriteStatus>(cancellationToken);
        }

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
        cancellationToken.ThrowIfCancellationRequested();
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

    public async IAsyncEnumerable<UploadRecord> ListDueEventsAsync(DateTimeOffset now, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var due = _records
            .Select(pair => UploadRecordJson.Deserialize(pair.Value.Json, Format(pair.Value.Version)))
            .Where(r => r.EventsDueAt is { } dueAt && dueAt <= now)
            .OrderBy(r => r.EventsDueAt)
            .Take(limit)
            .ToList();
        foreach (var record in due)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<LookupWriteResult> TryAddLookupAsync(UploadLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<LookupWriteResult>(cancellationToken);
        }

        var stored = lookup with { Version = Format(Interlocked.Increment(ref _nextVersion)) };
        return Task.FromResult(_lookups.TryAdd(lookup.Key, stored) ? LookupWriteResult.Success(stored) : LookupWriteResult.Conflict);
    }

    public Task<UploadLookup?> GetLookupAsync(string key, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled<UploadLookup?>(cancellationToken) : Task.FromResult(_lookups.TryGetValue(key, out var lookup) ? lookup : null);

    public Task<LookupWriteResult> TryReplaceLookupAsync(UploadLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<LookupWriteResult>(cancellationToken);
        }

        if (!_lookups.TryGetValue(lookup.Key, out var current))
        {
            return Task.FromResult(LookupWriteResult.NotFound);
        }

        var stored = lookup with { Version = Format(Interlocked.Increment(ref _nextVersion)) };
        return Task.FromResult(current.Version == lookup.Version && _lookups.TryUpdate(lookup.Key, stored, current)
            ? LookupWriteResult.Success(stored)
            : LookupWriteResult.Conflict);
    }

    public Task<MetadataWriteStatus> TryDeleteLookupAsync(string key, string version, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<MetadataWriteStatus>(cancellationToken);
        }

        if (!_lookups.TryGetValue(key, out var current))
        {
            return Task.FromResult(MetadataWriteStatus.NotFound);
        }

        return Task.FromResult(current.Version == version && _lookups.TryRemove(new KeyValuePair<string, UploadLookup>(key, current))
            ? MetadataWriteStatus.Success
            : MetadataWriteStatus.Conflict);
    }

    public Task<int> DeleteExpiredLookupsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<int>(cancellationToken);
        }

        var deleted = 0;
        foreach (var due in _lookups.Values.Where(l => l.ExpiresAt <= now).OrderBy(l => l.ExpiresAt).Take(limit).ToList())
        {
            // Only the version that was due: an entry renewed meanwhile stays.
            deleted += _lookups.TryRemove(new KeyValuePair<string, UploadLookup>(due.Key, due)) ? 1 : 0;
        }

        return Task.FromResult(deleted);
    }

    private static string Format(long version) => version.ToString(CultureInfo.InvariantCulture);
}
