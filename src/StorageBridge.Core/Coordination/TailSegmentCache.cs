using System.Buffers;
using StorageBridge.Diagnostics;

namespace StorageBridge.Coordination;

/// <summary>
/// Bytes of recent tail objects, so an append that fills a part joins the tail from memory instead of reading its
/// segments back from the store. Bounded by a byte budget (least recently used out first); 0 disables it.
/// </summary>
/// <remarks>
/// Coherent without invalidation across instances: an entry is added only after the compare-and-swap that recorded
/// its sequence number succeeded, and a recorded sequence is never written again (new bytes take a new number), so
/// the bytes under (upload, sequence) cannot change. Another instance's later tails have numbers this one never saw
/// and are read from the store.
/// </remarks>
internal sealed class TailSegmentCache
{
    private readonly long _capacity;
    private readonly Dictionary<(string Upload, int Sequence), LinkedListNode<Entry>> _entries = [];
    private readonly LinkedList<Entry> _recency = new();
    private readonly Lock _lock = new();
    private readonly StorageBridgeMetrics _metrics;
    private long _held;

    public TailSegmentCache(long capacityBytes, StorageBridgeMetrics? metrics = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        _capacity = capacityBytes;
        _metrics = metrics ?? StorageBridgeMetrics.Default;
    }

    /// <summary>Bytes held now.</summary>
    public long HeldBytes
    {
        get
        {
            lock (_lock)
            {
                return _held;
            }
        }
    }

    /// <summary>Keeps a copy of a tail object whose sequence number is recorded.</summary>
    public void Add(string uploadId, int sequence, ReadOnlySpan<byte> content)
    {
        if (content.Length == 0 || content.Length > _capacity)
        {
            return;
        }

        var bytes = ArrayPool<byte>.Shared.Rent(content.Length);
        content.CopyTo(bytes);
        lock (_lock)
        {
            RemoveLocked((uploadId, sequence));
            _entries[(uploadId, sequence)] = _recency.AddFirst(new Entry(uploadId, sequence, bytes, content.Length));
            _held += content.Length;
            while (_held > _capacity && _recency.Last is { } oldest)
            {
                RemoveLocked((oldest.Value.Upload, oldest.Value.Sequence));
            }
        }
    }

    /// <summary>Copies the object into <paramref name="destination"/> when it is held with exactly that length.</summary>
    public bool TryCopyTo(string uploadId, int sequence, Span<byte> destination)
    {
        bool hit;
        lock (_lock)
        {
            hit = _entries.TryGetValue((uploadId, sequence), out var node) && node.Value.Length == destination.Length;
            if (hit)
            {
                node!.Value.Bytes.AsSpan(0, node.Value.Length).CopyTo(destination);
                _recency.Remove(node);
                _recency.AddFirst(node);
            }
        }

        _metrics.TailCacheReads.Add(1, new KeyValuePair<string, object?>("hit", hit));
        return hit;
    }

    public void Remove(string uploadId, int sequence)
    {
        lock (_lock)
        {
            RemoveLocked((uploadId, sequence));
        }
    }

    /// <summary>Drops every object of an upload (completed, cancelled or expired).</summary>
    public void RemoveUpload(string uploadId)
    {
        lock (_lock)
        {
            foreach (var key in _entries.Keys.Where(k => k.Upload == uploadId).ToList())
            {
                RemoveLocked(key);
            }
        }
    }

    private void RemoveLocked((string, int) key)
    {
        if (_entries.Remove(key, out var node))
        {
            _recency.Remove(node);
            _held -= node.Value.Length;
            ArrayPool<byte>.Shared.Return(node.Value.Bytes);
        }
    }

    private sealed record Entry(string Upload, int Sequence, byte[] Bytes, int Length);
}
