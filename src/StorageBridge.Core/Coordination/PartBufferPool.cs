using System.Buffers;

namespace StorageBridge.Coordination;

/// <summary>
/// Part buffers of one coordinator, from a process-wide pool, with accounting of the bytes held (current and peak),
/// so the memory bound per append ((MaxConcurrentParts + 1) part buffers) is observable.
/// </summary>
internal sealed class PartBufferPool
{
    // Shared by every coordinator: the arrays are what costs memory, the accounting is per coordinator.
    private static readonly ArrayPool<byte> Shared = ArrayPool<byte>.Create((int)PartPlanner.MaxBufferSize, 32);

    private long _held;
    private long _peak;

    /// <summary>Bytes in buffers rented and not yet returned.</summary>
    public long HeldBytes => Interlocked.Read(ref _held);

    /// <summary>Highest <see cref="HeldBytes"/> since the last <see cref="ResetPeak"/>.</summary>
    public long PeakBytes => Interlocked.Read(ref _peak);

    public void ResetPeak() => Interlocked.Exchange(ref _peak, HeldBytes);

    public byte[] Rent(int minimumLength)
    {
        var buffer = Shared.Rent(minimumLength);
        var held = Interlocked.Add(ref _held, buffer.Length);
        long peak;
        while (held > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, held, peak) != peak)
        {
        }

        return buffer;
    }

    public void Return(byte[] buffer)
    {
        Interlocked.Add(ref _held, -buffer.Length);
        Shared.Return(buffer);
    }
}
