using System.Collections.Concurrent;
using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// Test-only decorator at our backend boundary: wraps the real <c>FileSystemBackend</c>, either in its own in-place
/// shape (<see cref="InPlace"/>) or as a multipart backend with other capabilities (<see cref="Multipart"/>: an
/// S3-like profile with a minimum part size, alignment, a small MaxParts and recorded parts, so the engine's tail
/// path runs without S3), checks at completion that the recorded part list would be accepted by such a service,
/// records what was called, and injects failures or delays.
/// </summary>
internal abstract class FaultInjectingBackend : IUploadBackend
{
    private readonly IAppendBackend inner;
    private int writePartCalls;
    private int completeCalls;
    private int abortCalls;
    private int failNextCompletes;
    private int partWritesRunning;
    private int maxPartWritesAtOnce;

    private FaultInjectingBackend(IAppendBackend inner, BackendCapabilities capabilities)
    {
        this.inner = inner;
        Capabilities = capabilities;
        Tails = new InjectingTails(this, inner.Tails);
    }

    /// <summary>The file backend as it is: bytes in place, only the offset recorded.</summary>
    public static FaultInjectingBackend InPlace(IAppendBackend inner) => new InPlaceBackend(inner);

    /// <summary>The file backend posing as a multipart backend with <paramref name="capabilities"/> (see <see cref="S3Like"/>).</summary>
    public static FaultInjectingBackend Multipart(IAppendBackend inner, BackendCapabilities capabilities) => new MultipartBackend(inner, capabilities);

    public const int KiB = 1024;

    /// <summary>S3 rules in miniature: 64 KiB minimum part, at most <paramref name="maxParts"/> parts, tracked part list.</summary>
    public static BackendCapabilities S3Like(
        long alignment = 1, int maxParts = 10, long minPartSize = 64 * KiB, long maxPartSize = 1024 * KiB, int maxTailSegments = 1) =>
        new(minPartSize, alignment, maxParts, maxPartSize, (int)minPartSize, MaxTailSegments: maxTailSegments);

    public BackendCapabilities Capabilities { get; }

    public ITailStore Tails { get; }

    public IObjectConcatenation? Concatenation => null;

    public string? ContainerName => inner.ContainerName;

    private bool RecordsParts => this is MultipartBackend;

    /// <summary>1-based index (over this backend's lifetime) of the WritePartAsync call that throws.</summary>
    public int? FailWritePartOnCall { get; set; }

    /// <summary>How many of the next CompleteAsync calls throw before reaching the inner backend.</summary>
    public int FailNextCompletes
    {
        get => Volatile.Read(ref failNextCompletes);
        set => Volatile.Write(ref failNextCompletes, value);
    }

    /// <summary>Runs before each part write with the call index (a gate or a delay).</summary>
    public Func<int, Task>? BeforeWritePart { get; set; }

    /// <summary>
    /// Like <see cref="BeforeWritePart"/>, by part number: concurrent part writes start on the thread pool, so call
    /// order need not be part order.
    /// </summary>
    public Func<int, Task>? BeforeWritePartNumber { get; set; }

    /// <summary>The first write of this part number fails (later ones, e.g. a resumed upload's, go through).</summary>
    public int? FailWritePartNumberOnce { get; set; }

    private int failNumberTaken;

    /// <summary>Runs after each tail object is stored and before the engine records it (e.g. to take the lease away).</summary>
    public Func<int, Task>? AfterTailWrite { get; set; }

    public ConcurrentQueue<PartRecord> PartWrites { get; } = new();
    public ConcurrentQueue<(int Sequence, long Size)> TailWrites { get; } = new();
    public ConcurrentQueue<int> TailDeletes { get; } = new();
    public ConcurrentQueue<int> TailReads { get; } = new();

    /// <summary>Most part writes that were running at the same time.</summary>
    public int MaxPartWritesAtOnce => Volatile.Read(ref maxPartWritesAtOnce);

    public int WritePartCalls => Volatile.Read(ref writePartCalls);
    public int CompleteCalls => Volatile.Read(ref completeCalls);
    public int AbortCalls => Volatile.Read(ref abortCalls);

    public Task<string?> StartAsync(BackendUpload upload, CancellationToken cancellationToken) => inner.StartAsync(upload, cancellationToken);

    public async Task<PartRecord> WritePartAsync(BackendUpload upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref writePartCalls);
        var running = Interlocked.Increment(ref partWritesRunning);
        try
        {
            int seen;
            while (running > (seen = Volatile.Read(ref maxPartWritesAtOnce)) && Interlocked.CompareExchange(ref maxPartWritesAtOnce, running, seen) != seen)
            {
            }

            return await WritePartCoreAsync(call, upload, partNumber, offset, content, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref partWritesRunning);
        }
    }

    private async Task<PartRecord> WritePartCoreAsync(int call, BackendUpload upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        if (BeforeWritePart is { } hook)
        {
            await hook(call);
        }

        if (BeforeWritePartNumber is { } numbered)
        {
            await numbered(partNumber);
        }

        if (call == FailWritePartOnCall)
        {
            throw new IOException($"Injected failure on part write #{call}.");
        }

        if (partNumber == FailWritePartNumberOnce && Interlocked.Exchange(ref failNumberTaken, 1) == 0)
        {
            throw new IOException($"Injected failure on part {partNumber}.");
        }

        if (partNumber < 1 || partNumber > Capabilities.MaxParts)
        {
            throw new InvalidOperationException($"Part number {partNumber} is outside 1..{Capabilities.MaxParts} (the service would reject it).");
        }

        if (content.Length > Capabilities.MaxPartSize)
        {
            throw new InvalidOperationException($"Part of {content.Length} bytes exceeds MaxPartSize {Capabilities.MaxPartSize}.");
        }

        await inner.WriteAsync(upload, offset, content, cancellationToken);
        var part = new PartRecord(partNumber, offset, content.Length);
        if (RecordsParts)
        {
            part = part with { ETag = $"\"etag-{partNumber}-{content.Length}\"" };
        }

        PartWrites.Enqueue(part);
        return part;
    }

    /// <summary>Tail sequence whose next write throws (once) after writing half of the bytes, like a torn write.</summary>
    public int? FailTailWriteOfSequence { get; set; }

    public Task<StoredObject> CompleteAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref completeCalls);
        while (true)
        {
            var remaining = Volatile.Read(ref failNextCompletes);
            if (remaining <= 0)
            {
                break;
            }

            if (Interlocked.CompareExchange(ref failNextCompletes, remaining - 1, remaining) == remaining)
            {
                throw new IOException("Injected failure on completion.");
            }
        }

        if (RecordsParts)
        {
            CheckPartList(upload);
        }

        return inner.CompleteAsync(upload, cancellationToken);
    }

    public Task AbortAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref abortCalls);
        return inner.AbortAsync(upload, cancellationToken);
    }

    public Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken) =>
        inner.OpenReadAsync(objectKey, offset, length, cancellationToken);

    public Task DeleteObjectAsync(string objectKey, CancellationToken cancellationToken) => inner.DeleteObjectAsync(objectKey, cancellationToken);

    /// <summary>What CompleteMultipartUpload would check: consecutive numbers, contiguous, non-final parts large and aligned.</summary>
    private void CheckPartList(BackendUpload upload)
    {
        var caps = Capabilities;
        if (upload.Tail is not null)
        {
            throw new InvalidOperationException("Completion with a tail still recorded.");
        }

        if (upload.Parts.Count > caps.MaxParts)
        {
            throw new InvalidOperationException($"{upload.Parts.Count} parts exceed MaxParts {caps.MaxParts}.");
        }

        long offset = 0;
        for (var i = 0; i < upload.Parts.Count; i++)
        {
            var part = upload.Parts[i];
            if (part.Number != i + 1 || part.Offset != offset)
            {
                throw new InvalidOperationException($"Part {i}: number {part.Number} at {part.Offset}, expected {i + 1} at {offset}.");
            }

            var final = i == upload.Parts.Count - 1;
            if (!final && (part.Size < caps.MinPartSize || part.Size % Math.Max(caps.PartAlignment, 1) != 0))
            {
                throw new InvalidOperationException($"Non-final part {part.Number} has {part.Size} bytes (min {caps.MinPartSize}, alignment {caps.PartAlignment}).");
            }

            offset += part.Size;
        }

        if (offset != upload.Offset)
        {
            throw new InvalidOperationException($"Parts cover {offset} bytes; the record says {upload.Offset}.");
        }
    }

    private sealed class InPlaceBackend(IAppendBackend inner) : FaultInjectingBackend(inner, inner.Capabilities), IAppendBackend
    {
        private int writes;

        public ISessionReconciliation? Reconciliation => null;

        // The engine numbers nothing for in-place writes: the hooks see them counted from 1.
        public Task WriteAsync(BackendUpload upload, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
            WritePartAsync(upload, Interlocked.Increment(ref writes), offset, content, cancellationToken);
    }

    private sealed class MultipartBackend(IAppendBackend inner, BackendCapabilities capabilities) : FaultInjectingBackend(inner, capabilities), IMultipartBackend;

    /// <summary>The file backend's tails, observed and broken on request.</summary>
    private sealed class InjectingTails(FaultInjectingBackend owner, ITailStore inner) : ITailStore
    {
        public async Task WriteAsync(string uploadId, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        {
            if (sequence == owner.FailTailWriteOfSequence)
            {
                owner.FailTailWriteOfSequence = null;
                await inner.WriteAsync(uploadId, sequence, content[..(content.Length / 2)], cancellationToken);
                throw new IOException($"Injected failure on tail write {sequence}.");
            }

            await inner.WriteAsync(uploadId, sequence, content, cancellationToken);
            owner.TailWrites.Enqueue((sequence, content.Length));
            if (owner.AfterTailWrite is { } after)
            {
                await after(sequence);
            }
        }

        public Task ReadAsync(string uploadId, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken)
        {
            owner.TailReads.Enqueue(tail.Sequence);
            return inner.ReadAsync(uploadId, tail, destination, cancellationToken);
        }

        public async Task DeleteAsync(string uploadId, int sequence, CancellationToken cancellationToken)
        {
            await inner.DeleteAsync(uploadId, sequence, cancellationToken);
            owner.TailDeletes.Enqueue(sequence);
        }

        public Task DeleteAllAsync(string uploadId, CancellationToken cancellationToken) => inner.DeleteAllAsync(uploadId, cancellationToken);
    }
}
