using System.Collections.Concurrent;
using System.Security.Cryptography;
using StorageBridge.Backends;
using StorageBridge.Uploads;
using Xunit;

namespace StorageBridge.Tests.Conformance;

/// <summary>
/// Behaviour every <see cref="IUploadBackend"/> must have, driven the way the engine drives it: records are built
/// from the backend's own results (parts listed only for an <see cref="IMultipartBackend"/>, the offset always), tails
/// go through <see cref="IUploadBackend.Tails"/>, part sizes honour the capabilities, and nothing counts until it is
/// in the record.
/// Derive once per backend (file system, S3, Azure, GCS) and implement <see cref="CreateBackend"/>.
/// </summary>
/// <remarks>
/// Read semantics assumed by the coordinator and checked here: <c>offset</c> may be anywhere in [0, Length] and
/// <c>length</c> in [0, Length - offset] (or null: to the end); reading at <c>offset == Length</c> gives an empty
/// stream; a missing object throws <see cref="FileNotFoundException"/> so front-ends can answer 404 uniformly.
/// </remarks>
public abstract class BackendConformanceTests : IAsyncLifetime
{
    private readonly CancellationTokenSource timeout = new(TimeSpan.FromMinutes(5));
    private readonly ConcurrentBag<BackendUpload> started = [];
    private readonly ConcurrentBag<string> objectKeys = [];
    private IUploadBackend? backend;

    /// <summary>Creates the backend under test (called once per test).</summary>
    protected abstract IUploadBackend CreateBackend();

    protected IUploadBackend Backend => backend ?? throw new InvalidOperationException("InitializeAsync has not run.");

    protected BackendCapabilities Capabilities => Backend.Capabilities;

    /// <summary>Cancelled if a test hangs, so a stuck network call fails the test instead of the run.</summary>
    protected CancellationToken Ct => timeout.Token;

    /// <summary>
    /// Size of each non-final part: at least 64 KiB and the backend's minimum, rounded up to its alignment
    /// (5 MiB on S3, 256 KiB on GCS, 64 KiB on files and Azure).
    /// </summary>
    protected virtual int PartSize
    {
        get
        {
            var caps = Capabilities;
            var size = Math.Max(caps.MinPartSize, 64 * 1024);
            var alignment = Math.Max(caps.PartAlignment, 1);
            size = (size + alignment - 1) / alignment * alignment;
            return (int)Math.Min(size, caps.MaxPartSize);
        }
    }

    /// <summary>
    /// False for backends that keep every byte they confirmed and ignore re-sent ones (GCS resumable sessions): an
    /// unrecorded part cannot be replaced by different bytes there, so the suite checks a same-bytes re-send instead.
    /// </summary>
    protected virtual bool ReplacesUnrecordedParts => true;

    /// <summary>Object keys used by the suite; override to add a bucket prefix. Each test uses fresh keys.</summary>
    protected virtual string NewObjectKey() => $"conformance/{UploadIds.New()}/object.bin";

    /// <summary>Reads a whole completed object; override to read it with the provider's own SDK instead.</summary>
    protected virtual async Task<byte[]> ReadObjectAsync(string objectKey)
    {
        await using var stream = await Backend.OpenReadAsync(objectKey, 0, null, Ct);
        return await ReadAllAsync(stream);
    }

    /// <summary>Checks that nothing is staged for an aborted upload; override where the provider can list staging data.</summary>
    protected virtual Task AssertNothingStagedAsync(BackendUpload upload) => Task.CompletedTask;

    public virtual Task InitializeAsync()
    {
        backend = CreateBackend();
        return Task.CompletedTask;
    }

    /// <summary>Best-effort cleanup of what the test left in the backend (matters for real buckets).</summary>
    public virtual async Task DisposeAsync()
    {
        if (backend is not null)
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            foreach (var upload in started)
            {
                await BestEffort(() => backend.AbortAsync(upload, cleanup.Token));
            }

            foreach (var key in objectKeys)
            {
                await BestEffort(() => backend.DeleteObjectAsync(key, cleanup.Token));
            }

            (backend as IDisposable)?.Dispose();
        }

        timeout.Dispose();
    }

    // ---- tests ----

    [Fact]
    public void Capabilities_are_consistent()
    {
        var caps = Capabilities;
        Assert.True(caps.MinPartSize >= 0);
        Assert.True(caps.PartAlignment >= 1);
        Assert.True(caps.MaxParts >= 1);
        Assert.True(caps.MaxPartSize >= Math.Max(caps.MinPartSize, 1));
        Assert.True(caps.DefaultPartSize >= caps.MinPartSize);
        Assert.True(caps.DefaultPartSize % caps.PartAlignment == 0);
        Assert.True(PartSize >= caps.MinPartSize && PartSize % caps.PartAlignment == 0);
        Assert.True(Backend is IMultipartBackend ^ Backend is IAppendBackend, "A backend has exactly one shape.");
        Assert.NotNull(Backend.Tails);
    }

    [Fact]
    public async Task Multi_part_upload_completes_with_identical_content()
    {
        var source = Bytes(3 * PartSize + 12_345, seed: 1);
        var upload = await StartAsync();

        upload = await WritePartsAsync(upload, source, firstPart: 1);
        Assert.Equal(source.Length, upload.Offset);
        if (Backend is IMultipartBackend)
        {
            Assert.Equal(new[] { 1, 2, 3, 4 }, upload.Parts.Select(p => p.Number));
        }

        var stored = await CompleteAsync(upload);

        Assert.Equal(upload.ObjectKey, stored.Key);
        Assert.Equal(source.Length, stored.Length);
        AssertSameContent(source, await ReadObjectAsync(upload.ObjectKey));
    }

    [Fact]
    public async Task Single_small_part_completes()
    {
        // One append below any minimum: the final (only) part may be smaller than MinPartSize.
        var source = Bytes(1000, seed: 2);
        var upload = await StartAsync();
        upload = await WritePartAsync(upload, 1, source);

        var stored = await CompleteAsync(upload);

        Assert.Equal(1000, stored.Length);
        AssertSameContent(source, await ReadObjectAsync(upload.ObjectKey));
    }

    [Fact]
    public async Task Part_rewritten_before_it_was_recorded_is_replaced_by_the_new_bytes()
    {
        var first = Bytes(PartSize, seed: 3);
        var lost = Bytes(PartSize, seed: 4);
        var retry = Bytes(PartSize / 2 + 3, seed: 5);
        var upload = await StartAsync();
        upload = await WritePartAsync(upload, 1, first);

        // A writer sent part 2 and died before the record was updated: the record never sees it.
        var unrecorded = await WriteUnrecordedPartAsync(upload, 2, upload.Offset, lost, Ct);
        Assert.Equal(lost.Length, unrecorded.Size);

        if (!ReplacesUnrecordedParts)
        {
            // Such a backend ignores re-sent confirmed bytes: a resuming client sends the same bytes again.
            upload = await WritePartAsync(upload, 2, lost);
            var resent = await CompleteAsync(upload);
            Assert.Equal(2 * PartSize, resent.Length);
            AssertSameContent([.. first, .. lost], await ReadObjectAsync(upload.ObjectKey));
            return;
        }

        // The client resumes from the durable offset with different (and fewer) bytes.
        upload = await WritePartAsync(upload, 2, retry);
        var stored = await CompleteAsync(upload);

        byte[] expected = [.. first, .. retry];
        Assert.Equal(expected.Length, stored.Length);
        AssertSameContent(expected, await ReadObjectAsync(upload.ObjectKey));
    }

    [Fact]
    public async Task Tail_round_trips_and_sequences_do_not_clobber_each_other()
    {
        var upload = await StartAsync();
        var tail1 = Bytes(1000, seed: 6);
        var tail2 = Bytes(777, seed: 7);

        await Backend.Tails.WriteAsync(upload.Id, 1, tail1, Ct);
        Assert.Equal(tail1, await ReadTailAsync(upload, new TailRecord(1, tail1.Length)));

        await Backend.Tails.WriteAsync(upload.Id, 2, tail2, Ct);
        Assert.Equal(tail1, await ReadTailAsync(upload, new TailRecord(1, tail1.Length)));
        Assert.Equal(tail2, await ReadTailAsync(upload, new TailRecord(2, tail2.Length)));

        await Backend.Tails.DeleteAsync(upload.Id, 1, Ct);
        Assert.Equal(tail2, await ReadTailAsync(upload, new TailRecord(2, tail2.Length)));
        await Assert.ThrowsAnyAsync<Exception>(() => ReadTailAsync(upload, new TailRecord(1, tail1.Length)));

        // Deleting a missing tail is not an error.
        await Backend.Tails.DeleteAsync(upload.Id, 1, Ct);
        await Backend.Tails.DeleteAsync(upload.Id, 99, Ct);
    }

    [Fact]
    public async Task Tail_rewritten_under_an_unrecorded_sequence_is_replaced()
    {
        var upload = await StartAsync();
        var lost = Bytes(2000, seed: 8);
        var retry = Bytes(500, seed: 9);

        await Backend.Tails.WriteAsync(upload.Id, 1, lost, Ct);
        await Backend.Tails.WriteAsync(upload.Id, 1, retry, Ct);

        Assert.Equal(retry, await ReadTailAsync(upload, new TailRecord(1, retry.Length)));
    }

    [Fact]
    public async Task Tail_read_into_a_larger_buffer_fills_only_its_size()
    {
        var upload = await StartAsync();
        var tail = Bytes(300, seed: 10);
        await Backend.Tails.WriteAsync(upload.Id, 1, tail, Ct);

        var destination = new byte[1000];
        Array.Fill(destination, (byte)0xAB);
        await Backend.Tails.ReadAsync(upload.Id, new TailRecord(1, tail.Length), destination, Ct);

        Assert.Equal(tail, destination[..300]);
        Assert.All(destination[300..], b => Assert.Equal(0xAB, b));
    }

    [Fact]
    public async Task Small_appends_go_through_tails_into_the_next_part_like_the_coordinator_does()
    {
        var source = Bytes(2 * PartSize + 4321, seed: 11);
        var upload = await StartAsync();
        upload = await WritePartAsync(upload, 1, source.AsMemory(0, PartSize));

        // A small append below the part size becomes tail 1, then another small append replaces it with tail 2.
        var smallEnd = PartSize + 100;
        upload = await WriteTailAsync(upload, source.AsMemory(PartSize, 100));
        upload = await AppendToTailAsync(upload, source.AsMemory(smallEnd, 50));
        Assert.Equal(2, upload.Tail!.Sequence);
        Assert.Equal(smallEnd + 50, upload.Offset);

        // The next append fills a part: tail bytes are read back and re-sent at the start of part 2.
        var tailBytes = await ReadTailAsync(upload, upload.Tail);
        var part2End = PartSize * 2;
        byte[] part2 = [.. tailBytes, .. source.AsSpan((int)upload.Offset, part2End - (int)upload.Offset)];
        var oldTail = upload.Tail.Sequence;
        upload = await WritePartAsync(upload, 2, part2);
        await Backend.Tails.DeleteAsync(upload.Id, oldTail, Ct);
        Assert.Null(upload.Tail);
        Assert.Equal(part2End, upload.Offset);

        // The final remainder is sent as the last (short) part before completing.
        upload = await WritePartAsync(upload, 3, source.AsMemory(part2End));
        var stored = await CompleteAsync(upload);

        Assert.Equal(source.Length, stored.Length);
        AssertSameContent(source, await ReadObjectAsync(upload.ObjectKey));
    }

    [Fact]
    public async Task Complete_twice_returns_the_same_object()
    {
        var source = Bytes(2 * PartSize + 17, seed: 12);
        var upload = await StartAsync();
        upload = await WritePartsAsync(upload, source, firstPart: 1);

        var first = await CompleteAsync(upload);
        // Retry as after a crash between the commit and the metadata write: same record, same answer.
        var second = await CompleteAsync(upload);

        Assert.Equal(first.Key, second.Key);
        Assert.Equal(source.Length, first.Length);
        Assert.Equal(first.Length, second.Length);
        Assert.Equal(first.ETag, second.ETag);
        AssertSameContent(source, await ReadObjectAsync(upload.ObjectKey));
    }

    [Fact]
    public async Task Completion_replaces_an_existing_object_under_the_same_key()
    {
        var key = NewObjectKey();
        var old = Bytes(PartSize + 5, seed: 13);
        var replacement = Bytes(1234, seed: 14);

        var upload1 = await WritePartsAsync(await StartAsync(key), old, firstPart: 1);
        await CompleteAsync(upload1);
        var upload2 = await WritePartsAsync(await StartAsync(key), replacement, firstPart: 1);
        var stored = await CompleteAsync(upload2);

        Assert.Equal(replacement.Length, stored.Length);
        AssertSameContent(replacement, await ReadObjectAsync(key));
    }

    [Fact]
    public async Task Empty_upload_completes_to_an_empty_object()
    {
        var upload = await StartAsync();

        var stored = await CompleteAsync(upload);
        var again = await CompleteAsync(upload);

        Assert.Equal(0, stored.Length);
        Assert.Equal(0, again.Length);
        Assert.Empty(await ReadObjectAsync(upload.ObjectKey));
        await using var stream = await Backend.OpenReadAsync(upload.ObjectKey, 0, null, Ct);
        Assert.Empty(await ReadAllAsync(stream));
    }

    [Fact]
    public async Task Abort_removes_staged_data_and_is_idempotent()
    {
        var upload = await StartAsync();
        upload = await WritePartAsync(upload, 1, Bytes(PartSize, seed: 15));
        upload = await WriteTailAsync(upload, Bytes(10, seed: 16));

        await Backend.AbortAsync(upload, Ct);
        await Backend.AbortAsync(upload, Ct);

        await AssertNothingStagedAsync(upload);
        await Assert.ThrowsAnyAsync<Exception>(() => ReadTailAsync(upload, upload.Tail!));
        var partsOnly = upload with { Tail = null, Offset = upload.PartsLength };
        await Assert.ThrowsAnyAsync<Exception>(() => Backend.CompleteAsync(partsOnly, Ct));
        await Assert.ThrowsAnyAsync<FileNotFoundException>(() => Backend.OpenReadAsync(upload.ObjectKey, 0, null, Ct));
    }

    [Fact]
    public async Task Abort_of_an_upload_without_data_succeeds()
    {
        var upload = await StartAsync();

        await Backend.AbortAsync(upload, Ct);
        await Backend.AbortAsync(upload, Ct);

        await AssertNothingStagedAsync(upload);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 100)]
    [InlineData(0, 0)]
    [InlineData(-5, 10)] // across the first part boundary (offset relative to PartSize)
    [InlineData(-1, -1)] // from just before the boundary to the end (-1 length: null)
    public async Task Ranged_read_returns_exactly_the_slice(int offsetSpec, int lengthSpec)
    {
        var (source, key) = await CompletedObjectAsync(seed: 17);
        long offset = offsetSpec < 0 ? PartSize + offsetSpec : offsetSpec;
        long? length = lengthSpec < 0 ? null : lengthSpec;

        var slice = await ReadRangeAsync(key, offset, length);

        var expected = source.AsSpan((int)offset, (int)(length ?? source.Length - offset)).ToArray();
        Assert.Equal(expected, slice);
    }

    [Fact]
    public async Task Ranged_read_at_the_end_of_the_object()
    {
        var (source, key) = await CompletedObjectAsync(seed: 18);
        var end = source.Length;

        Assert.Equal(source[(end - 17)..], await ReadRangeAsync(key, end - 17, 17));
        Assert.Equal(source[(end - 17)..], await ReadRangeAsync(key, end - 17, null));
        Assert.Equal(source[(end - 1)..], await ReadRangeAsync(key, end - 1, 1));
        Assert.Empty(await ReadRangeAsync(key, end, null));
        Assert.Empty(await ReadRangeAsync(key, end, 0));
        Assert.Equal(source, await ReadRangeAsync(key, 0, end));
    }

    [Fact]
    public async Task Deleted_object_cannot_be_read_and_delete_is_idempotent()
    {
        var (_, key) = await CompletedObjectAsync(seed: 19);

        await Backend.DeleteObjectAsync(key, Ct);
        await Backend.DeleteObjectAsync(key, Ct);

        await Assert.ThrowsAnyAsync<FileNotFoundException>(() => Backend.OpenReadAsync(key, 0, null, Ct));
    }

    [Fact]
    public async Task Reading_a_missing_object_throws_FileNotFoundException()
    {
        await Assert.ThrowsAnyAsync<FileNotFoundException>(() => Backend.OpenReadAsync(NewObjectKey(), 0, null, Ct));
        await Backend.DeleteObjectAsync(NewObjectKey(), Ct);
    }

    [Fact]
    public async Task Concurrent_uploads_do_not_interfere()
    {
        var sources = Enumerable.Range(0, 4).Select(i => Bytes(PartSize + 1000 * (i + 1), seed: 100 + i)).ToArray();

        var results = await Task.WhenAll(sources.Select(async source =>
        {
            var upload = await WritePartsAsync(await StartAsync(), source, firstPart: 1);
            await CompleteAsync(upload);
            return (source, upload.ObjectKey);
        }));

        foreach (var (source, key) in results)
        {
            AssertSameContent(source, await ReadObjectAsync(key));
        }
    }

    // ---- coordinator-like helpers ----

    /// <summary>A fresh record as the coordinator creates it, after <see cref="IUploadBackend.StartAsync"/>.</summary>
    protected async Task<BackendUpload> StartAsync(string? objectKey = null)
    {
        var upload = new BackendUpload
        {
            Id = UploadIds.New(),
            ObjectKey = objectKey ?? NewObjectKey(),
            ContentType = "application/octet-stream",
        };
        upload = upload with { Session = await Backend.StartAsync(upload, Ct) };
        started.Add(upload);
        objectKeys.Add(upload.ObjectKey);
        return upload;
    }

    /// <summary>Writes one part at the durable parts length and records it (the previous tail, if any, is dropped from the record).</summary>
    protected async Task<BackendUpload> WritePartAsync(BackendUpload upload, int partNumber, ReadOnlyMemory<byte> content)
    {
        var offset = upload.PartsLength;
        var part = await WriteUnrecordedPartAsync(upload, partNumber, offset, content, Ct);
        Assert.Equal(partNumber, part.Number);
        Assert.Equal(offset, part.Offset);
        Assert.Equal(content.Length, part.Size);
        return upload with
        {
            Parts = Backend is IMultipartBackend ? [.. upload.Parts, part] : upload.Parts,
            Offset = offset + part.Size,
            Tail = null,
        };
    }

    /// <summary>
    /// Writes a part without recording it, through the backend's shape: a multipart backend's part, or an in-place
    /// backend's range at <paramref name="offset"/> (whose record the engine would make up: number, offset, size).
    /// </summary>
    protected async Task<PartRecord> WriteUnrecordedPartAsync(
        BackendUpload upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        switch (Backend)
        {
            case IMultipartBackend multipart:
                return await multipart.WritePartAsync(upload, partNumber, offset, content, cancellationToken);
            case IAppendBackend append:
                await append.WriteAsync(upload, offset, content, cancellationToken);
                return new PartRecord(partNumber, offset, content.Length);
            default:
                throw new InvalidOperationException($"{Backend.GetType().Name} implements neither IMultipartBackend nor IAppendBackend.");
        }
    }

    /// <summary>Cuts <paramref name="content"/> into <see cref="PartSize"/> parts (the last one shorter) and records each.</summary>
    protected async Task<BackendUpload> WritePartsAsync(BackendUpload upload, ReadOnlyMemory<byte> content, int firstPart)
    {
        var number = firstPart;
        for (var start = 0; start < content.Length; start += PartSize)
        {
            var size = Math.Min(PartSize, content.Length - start);
            upload = await WritePartAsync(upload, number++, content.Slice(start, size));
        }

        return upload;
    }

    /// <summary>Stores <paramref name="content"/> as a new tail after the recorded parts (replacing any recorded tail).</summary>
    protected async Task<BackendUpload> WriteTailAsync(BackendUpload upload, ReadOnlyMemory<byte> content)
    {
        var sequence = upload.TailSequence + 1;
        await Backend.Tails.WriteAsync(upload.Id, sequence, content, Ct);
        var oldTail = upload.Tail;
        var updated = upload with
        {
            Tail = new TailRecord(sequence, content.Length),
            TailSequence = sequence,
            Offset = upload.PartsLength + content.Length,
        };
        if (oldTail is not null)
        {
            await Backend.Tails.DeleteAsync(upload.Id, oldTail.Sequence, Ct);
        }

        return updated;
    }

    /// <summary>Small append while a tail exists: read it back, add the bytes, store under the next sequence.</summary>
    protected async Task<BackendUpload> AppendToTailAsync(BackendUpload upload, ReadOnlyMemory<byte> content)
    {
        var existing = upload.Tail is null ? Array.Empty<byte>() : await ReadTailAsync(upload, upload.Tail);
        byte[] combined = [.. existing, .. content.Span];
        return await WriteTailAsync(upload, combined);
    }

    protected async Task<byte[]> ReadTailAsync(BackendUpload upload, TailRecord tail)
    {
        var buffer = new byte[tail.Size];
        await Backend.Tails.ReadAsync(upload.Id, tail, buffer, Ct);
        return buffer;
    }

    protected async Task<StoredObject> CompleteAsync(BackendUpload upload)
    {
        var stored = await Backend.CompleteAsync(upload, Ct);
        objectKeys.Add(stored.Key);
        return stored;
    }

    protected async Task<byte[]> ReadRangeAsync(string objectKey, long offset, long? length)
    {
        await using var stream = await Backend.OpenReadAsync(objectKey, offset, length, Ct);
        return await ReadAllAsync(stream);
    }

    /// <summary>A completed object of two full parts and a short one.</summary>
    protected async Task<(byte[] Source, string Key)> CompletedObjectAsync(int seed)
    {
        var source = Bytes(2 * PartSize + 999, seed);
        var upload = await WritePartsAsync(await StartAsync(), source, firstPart: 1);
        var stored = await CompleteAsync(upload);
        Assert.Equal(source.Length, stored.Length);
        return (source, upload.ObjectKey);
    }

    protected async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Ct);
        return copy.ToArray();
    }

    protected static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Compares length and SHA-256 (readable failures for megabyte-sized content).</summary>
    protected static void AssertSameContent(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(expected)), Convert.ToHexStringLower(SHA256.HashData(actual)));
    }

    private static async Task BestEffort(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception)
        {
            // Cleanup must not hide the test's own result.
        }
    }
}
