using StorageBridge.Backends;

namespace StorageBridge.Coordination;

/// <summary>Cuts appends into parts the backend accepts. Pure functions: unit-tested without a backend.</summary>
internal static class PartPlanner
{
    /// <summary>Largest part buffer the engine will hold in memory for one append (bounds memory per upload).</summary>
    public const long MaxBufferSize = 512L * 1024 * 1024;

    /// <summary>
    /// Part size for the next parts of an upload. With a known length the size grows so the parts still allowed
    /// (MaxParts minus those written) cover the remaining bytes; it is rounded up to the backend's alignment.
    /// In-place backends have no part count to respect and pass no length (see <see cref="Targets.UploadShape"/>).
    /// </summary>
    public static long PartSizeFor(BackendCapabilities capabilities, long configuredPartSize, long? length, long partsLength, int partsWritten)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        var size = Math.Max(configuredPartSize, Math.Max(capabilities.MinPartSize, 1));
        if (length is long total)
        {
            var partsLeft = (long)capabilities.MaxParts - partsWritten;
            var remaining = total - partsLength;
            if (partsLeft > 0 && remaining > 0)
            {
                size = Math.Max(size, CeilDiv(remaining, partsLeft));
            }
        }

        size = RoundUp(size, capabilities.PartAlignment);
        return Math.Min(size, Math.Min(capabilities.MaxPartSize, MaxBufferSize));
    }

    /// <summary>
    /// Largest upload this backend can take with <paramref name="configuredPartSize"/> when the length is declared
    /// up front (part size may grow to the buffer cap). Multipart backends only: in-place ones are unbounded.
    /// </summary>
    public static long MaxDeclaredLength(BackendCapabilities capabilities, long configuredPartSize)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        var largestPart = Math.Min(capabilities.MaxPartSize, Math.Max(MaxBufferSize, configuredPartSize));
        return SaturatingMultiply(largestPart, capabilities.MaxParts);
    }

    /// <summary>How many of <paramref name="buffered"/> bytes may be written as a non-final part now; the rest becomes the tail.</summary>
    public static long FlushableLength(BackendCapabilities capabilities, long buffered)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        if (buffered <= 0 || buffered < capabilities.MinPartSize)
        {
            return 0;
        }

        return buffered - buffered % Math.Max(capabilities.PartAlignment, 1);
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;

    private static long RoundUp(long value, long alignment) =>
        alignment <= 1 ? value : CeilDiv(value, alignment) * alignment;

    private static long SaturatingMultiply(long a, long b) =>
        a > long.MaxValue / Math.Max(b, 1) ? long.MaxValue : a * b;
}
