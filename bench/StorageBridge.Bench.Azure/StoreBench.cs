using System.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Uploads;

namespace StorageBridge.Bench.Azure;

/// <summary>Per-operation latency of an <see cref="IUploadMetadataStore"/>: the calls the engine makes for one upload, timed one by one.</summary>
internal static class StoreBench
{
    private const int ListLimit = 100;

    /// <summary>
    /// Creates <paramref name="operations"/> records (already expired, so the expiry scan has work), reads each, replaces
    /// each once (one more part, as an append does), scans for expired records operations/10 times, deletes each.
    /// Milliseconds per call.
    /// </summary>
    public static async Task<IReadOnlyList<(string Operation, List<double> Milliseconds)>> MeasureAsync(
        IUploadMetadataStore store, int operations, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var records = Enumerable.Range(0, operations).Select(i => Record(now.AddHours(-1), i)).ToList();

        // Warm-up: connections, JIT, query plans.
        var warm = (await store.CreateAsync(Record(now.AddHours(-1), 0), cancellationToken)).Record!;
        await store.GetAsync(warm.Id, cancellationToken);
        warm = (await store.TryReplaceAsync(warm with { Offset = 1 }, cancellationToken)).Record!;
        await foreach (var _ in store.ListExpiredAsync(now, ListLimit, cancellationToken))
        {
        }

        await store.TryDeleteAsync(warm.Id, warm.Version, cancellationToken);

        var create = new List<double>();
        for (var i = 0; i < records.Count; i++)
        {
            var watch = Stopwatch.StartNew();
            var created = await store.CreateAsync(records[i], cancellationToken);
            create.Add(watch.Elapsed.TotalMilliseconds);
            records[i] = created.Record ?? throw new InvalidOperationException($"create: {created.Status}");
        }

        var get = new List<double>();
        foreach (var record in records)
        {
            var watch = Stopwatch.StartNew();
            _ = await store.GetAsync(record.Id, cancellationToken) ?? throw new InvalidOperationException("get: missing");
            get.Add(watch.Elapsed.TotalMilliseconds);
        }

        var replace = new List<double>();
        for (var i = 0; i < records.Count; i++)
        {
            var next = records[i] with
            {
                Offset = records[i].Offset + (8 << 20),
                Parts = [.. records[i].Parts, new PartRecord(records[i].Parts.Count + 1, records[i].Offset, 8 << 20, ETag: "etag")],
            };
            var watch = Stopwatch.StartNew();
            var replaced = await store.TryReplaceAsync(next, cancellationToken);
            replace.Add(watch.Elapsed.TotalMilliseconds);
            records[i] = replaced.Record ?? throw new InvalidOperationException($"replace: {replaced.Status}");
        }

        var list = new List<double>();
        for (var i = 0; i < Math.Max(1, operations / 10); i++)
        {
            var watch = Stopwatch.StartNew();
            var found = 0;
            await foreach (var _ in store.ListExpiredAsync(now, ListLimit, cancellationToken))
            {
                found++;
            }

            list.Add(watch.Elapsed.TotalMilliseconds);
            if (found != Math.Min(ListLimit, operations))
            {
                throw new InvalidOperationException($"list expired: {found} records");
            }
        }

        var delete = new List<double>();
        foreach (var record in records)
        {
            var watch = Stopwatch.StartNew();
            var status = await store.TryDeleteAsync(record.Id, record.Version, cancellationToken);
            delete.Add(watch.Elapsed.TotalMilliseconds);
            if (status != MetadataWriteStatus.Success)
            {
                throw new InvalidOperationException($"delete: {status}");
            }
        }

        return [("Create", create), ("Get", get), ("TryReplace", replace), ("ListExpired", list), ("Delete", delete)];
    }

    // A record as an open upload has it a few appends in: some parts, a tail, protocol metadata.
    private static UploadRecord Record(DateTimeOffset expiresAt, int index) => new()
    {
        Id = UploadIds.New(),
        Target = "bench",
        ObjectKey = "bench/" + index,
        Length = 1L << 30,
        Offset = 4L * (8 << 20),
        Parts = [.. Enumerable.Range(1, 4).Select(n => new PartRecord(n, (n - 1) * (8L << 20), 8 << 20, ETag: "etag-" + n))],
        Metadata = new Dictionary<string, string> { ["filename"] = "video.mp4", ["filetype"] = "video/mp4" },
        CreatedAt = expiresAt.AddDays(-1),
        UpdatedAt = expiresAt.AddDays(-1),
        ExpiresAt = expiresAt,
    };
}
