using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using StorageBridge.Metadata;
using StorageBridge.Uploads;

namespace StorageBridge.Bench.StoreCalls;

/// <summary>Counts every call the engine makes to the metadata store, and the size of the records it writes.</summary>
internal sealed class CountingMetadataStore(IUploadMetadataStore inner) : IUploadMetadataStore
{
    private readonly ConcurrentDictionary<string, long> _calls = new(StringComparer.Ordinal);
    private long _largestRecordBytes;

    public IReadOnlyDictionary<string, long> Snapshot() => new SortedDictionary<string, long>(_calls, StringComparer.Ordinal);

    public long LargestRecordBytes => Interlocked.Read(ref _largestRecordBytes);

    public void Reset()
    {
        _calls.Clear();
        Interlocked.Exchange(ref _largestRecordBytes, 0);
    }

    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public Task<MetadataWriteResult> CreateAsync(UploadRecord record, CancellationToken cancellationToken) =>
        Count(nameof(CreateAsync), inner.CreateAsync(Measure(record), cancellationToken));

    public Task<UploadRecord?> GetAsync(string id, CancellationToken cancellationToken) => Count(nameof(GetAsync), inner.GetAsync(id, cancellationToken));

    public Task<MetadataWriteResult> TryReplaceAsync(UploadRecord record, CancellationToken cancellationToken) =>
        Count(nameof(TryReplaceAsync), inner.TryReplaceAsync(Measure(record), cancellationToken));

    public Task<MetadataWriteStatus> TryDeleteAsync(string id, string version, CancellationToken cancellationToken) =>
        Count(nameof(TryDeleteAsync), inner.TryDeleteAsync(id, version, cancellationToken));

    public async IAsyncEnumerable<UploadRecord> ListExpiredAsync(DateTimeOffset now, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Increment(nameof(ListExpiredAsync));
        await foreach (var record in inner.ListExpiredAsync(now, limit, cancellationToken).ConfigureAwait(false))
        {
            yield return record;
        }
    }

    public async IAsyncEnumerable<UploadRecord> ListDueEventsAsync(DateTimeOffset now, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Increment(nameof(ListDueEventsAsync));
        await foreach (var record in inner.ListDueEventsAsync(now, limit, cancellationToken).ConfigureAwait(false))
        {
            yield return record;
        }
    }

    public Task<LookupWriteResult> TryAddLookupAsync(UploadLookup lookup, CancellationToken cancellationToken) =>
        Count(nameof(TryAddLookupAsync), inner.TryAddLookupAsync(lookup, cancellationToken));

    public Task<UploadLookup?> GetLookupAsync(string key, CancellationToken cancellationToken) => Count(nameof(GetLookupAsync), inner.GetLookupAsync(key, cancellationToken));

    public Task<LookupWriteResult> TryReplaceLookupAsync(UploadLookup lookup, CancellationToken cancellationToken) =>
        Count(nameof(TryReplaceLookupAsync), inner.TryReplaceLookupAsync(lookup, cancellationToken));

    public Task<MetadataWriteStatus> TryDeleteLookupAsync(string key, string version, CancellationToken cancellationToken) =>
        Count(nameof(TryDeleteLookupAsync), inner.TryDeleteLookupAsync(key, version, cancellationToken));

    public Task<int> DeleteExpiredLookupsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        Count(nameof(DeleteExpiredLookupsAsync), inner.DeleteExpiredLookupsAsync(now, limit, cancellationToken));

    private Task<T> Count<T>(string operation, Task<T> call)
    {
        Increment(operation);
        return call;
    }

    private UploadRecord Measure(UploadRecord record)
    {
        var size = JsonSerializer.SerializeToUtf8Bytes(record).LongLength;
        long current;
        while (size > (current = Interlocked.Read(ref _largestRecordBytes)) && Interlocked.CompareExchange(ref _largestRecordBytes, size, current) != current)
        {
        }

        return record;
    }

    private void Increment(string name) => _calls.AddOrUpdate(name, 1, (_, n) => n + 1);
}
