using System.Text;
using StorageBridge.Backends;
using StorageBridge.FileSystem;
using StorageBridge.Tests.Conformance;
using StorageBridge.Uploads;

namespace StorageBridge.Core.Tests.Backends;

/// <summary>The backend conformance suite on a temporary root, plus file-system specifics (layout, key safety, truncation).</summary>
public sealed class FileSystemBackendTests : BackendConformanceTests
{
    // Root sits one level below a private temp folder so "nothing escaped Root" can be checked on the folder around it.
    private readonly string sandbox = Path.Combine(Path.GetTempPath(), "sb-fs-" + Guid.NewGuid().ToString("N"));
    private string RootPath => Path.Combine(sandbox, "root");

    protected override IUploadBackend CreateBackend()
    {
        Directory.CreateDirectory(sandbox);
        return new FileSystemBackend(new FileSystemBackendOptions { Root = RootPath });
    }

    protected override Task AssertNothingStagedAsync(BackendUpload upload)
    {
        Assert.False(File.Exists(StagingData(upload)));
        Assert.Empty(Directory.Exists(StagingRoot) ? Directory.GetFiles(StagingRoot, upload.Id + ".tail-*") : []);
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(sandbox))
        {
            Directory.Delete(sandbox, recursive: true);
        }
    }

    private string StagingRoot => Path.Combine(RootPath, ".staging");

    private string StagingData(BackendUpload upload) => Path.Combine(StagingRoot, upload.Id);

    private string Tail(BackendUpload upload, int sequence) => StagingData(upload) + ".tail-" + sequence;

    [Fact]
    public void Declares_in_place_capabilities_and_defaults()
    {
        Assert.Equal(new BackendCapabilities(0, 1, int.MaxValue, long.MaxValue, 1024 * 1024), Backend.Capabilities);
        Assert.Equal("data/objects", new FileSystemBackendOptions().Root);
        Assert.Equal(Path.GetFullPath("data/objects"), new FileSystemBackend(new FileSystemBackendOptions()).Root);
    }

    [Fact]
    public async Task Parts_land_in_one_staging_file_and_completion_moves_it_to_the_key()
    {
        var source = Bytes(3000, seed: 1);
        var upload = await StartAsync("reports/2025/q1/summary.csv");
        upload = await WritePartsAsync(upload, source.AsMemory(0, 2000), firstPart: 1);
        upload = await WritePartAsync(upload, 2, source.AsMemory(2000));

        var data = StagingData(upload);
        Assert.Equal(source, await File.ReadAllBytesAsync(data));

        var stored = await CompleteAsync(upload with { ContentType = "text/csv" });

        var final = Path.Combine(RootPath, "reports", "2025", "q1", "summary.csv");
        Assert.Equal(source, await File.ReadAllBytesAsync(final));
        Assert.False(File.Exists(StagingData(upload)));
        Assert.Equal(new StoredObject("reports/2025/q1/summary.csv", 3000, stored.ETag, ContentType: "text/csv"), stored);
        Assert.False(string.IsNullOrEmpty(stored.ETag));
    }

    [Fact]
    public async Task Tails_are_files_with_their_sequence()
    {
        var upload = await StartAsync();
        await Backend.Tails.WriteAsync(upload.Id, 7, "abc"u8.ToArray(), Ct);

        Assert.Equal("abc", await File.ReadAllTextAsync(Tail(upload, 7)));
    }

    public static TheoryData<string> EscapingKeys => new()
    {
        "../outside.bin",
        "..",
        "a/../../outside.bin",
        "a/..",
        "a/../b",
        "./a",
        "a//b",
        "a/",
        "/tmp/absolute.bin",
        "..\\outside.bin",
        "a\\b",
        "a\0b",
        "",
        ".staging/x",
        ".STAGING/x",
    };

    [Theory]
    [MemberData(nameof(EscapingKeys))]
    public async Task Keys_that_escape_the_root_are_rejected_and_nothing_is_written_outside(string key)
    {
        var upload = await StartAsync();
        upload = await WritePartAsync(upload, 1, Bytes(100, seed: 2));

        await Assert.ThrowsAsync<ArgumentException>(() => Backend.CompleteAsync(upload with { ObjectKey = key }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Backend.OpenReadAsync(key, 0, null, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Backend.DeleteObjectAsync(key, Ct));

        Assert.Equal([RootPath], Directory.GetFileSystemEntries(sandbox));
        Assert.False(File.Exists(Path.Combine(Path.GetTempPath(), "outside.bin")));
        // The rejected completion left the staged bytes alone; the upload can still complete under a valid key.
        Assert.Equal(100, new FileInfo(StagingData(upload)).Length);
    }

    [Fact]
    public async Task Upload_ids_that_are_not_plain_names_are_rejected()
    {
        var upload = await StartAsync();

        foreach (var id in new[] { "..", "a/b", "a\\b", "" })
        {
            await Assert.ThrowsAsync<ArgumentException>(() => WriteUnrecordedPartAsync(upload with { Id = id }, 1, 0, new byte[1], Ct));
            await Assert.ThrowsAsync<ArgumentException>(() => Backend.AbortAsync(upload with { Id = id }, Ct));
        }

        Assert.Equal([RootPath], Directory.GetFileSystemEntries(sandbox));
    }

    [Fact]
    public async Task Completion_truncates_bytes_past_the_durable_offset()
    {
        var source = Bytes(5000, seed: 3);
        var upload = await StartAsync();

        // One write of N bytes plus junk, and a later unrecorded write further out; the record says N.
        await WriteUnrecordedPartAsync(upload, 1, 0, source, Ct);
        await WriteUnrecordedPartAsync(upload, 2, 5000, Bytes(3000, seed: 4), Ct);
        upload = upload with { Offset = 4096 };

        var stored = await CompleteAsync(upload);

        Assert.Equal(4096, stored.Length);
        Assert.Equal(source[..4096], await File.ReadAllBytesAsync(Path.Combine(RootPath, upload.ObjectKey)));
    }

    [Fact]
    public async Task Completion_fails_when_staging_holds_fewer_bytes_than_recorded()
    {
        var upload = await StartAsync();
        await WriteUnrecordedPartAsync(upload, 1, 0, Bytes(100, seed: 5), Ct);

        await Assert.ThrowsAsync<InvalidOperationException>(() => Backend.CompleteAsync(upload with { Offset = 101 }, Ct));
        Assert.False(File.Exists(Path.Combine(RootPath, upload.ObjectKey)));
    }

    [Fact]
    public async Task Completion_retry_after_a_crash_before_staging_cleanup_returns_the_object()
    {
        var source = Bytes(1500, seed: 6);
        var upload = await WritePartsAsync(await StartAsync(), source, firstPart: 1);
        var first = await CompleteAsync(upload);

        // As if the process died after the rename but before a tail (written, never recorded) was removed.
        await File.WriteAllBytesAsync(Tail(upload, 1), [1, 2, 3]);

        var second = await CompleteAsync(upload);

        Assert.Equal(first, second);
        await AssertNothingStagedAsync(upload);
        Assert.Equal(source, await File.ReadAllBytesAsync(Path.Combine(RootPath, upload.ObjectKey)));
    }

    [Fact]
    public async Task Completion_without_staging_or_object_fails()
    {
        var upload = await WritePartAsync(await StartAsync(), 1, Bytes(10, seed: 7));
        await Backend.AbortAsync(upload, Ct);

        await Assert.ThrowsAsync<InvalidOperationException>(() => Backend.CompleteAsync(upload, Ct));
    }

    [Fact]
    public async Task Completion_places_a_recorded_tail_behind_the_parts()
    {
        var source = Bytes(1200, seed: 8);
        var upload = await StartAsync();
        upload = await WritePartAsync(upload, 1, source.AsMemory(0, 1000));
        // Junk past the parts where the tail belongs: an unrecorded write that the tail must win over.
        await WriteUnrecordedPartAsync(upload, 2, 1000, Bytes(500, seed: 9), Ct);
        upload = await WriteTailAsync(upload, source.AsMemory(1000));

        var stored = await CompleteAsync(upload);

        Assert.Equal(1200, stored.Length);
        Assert.Equal(source, await File.ReadAllBytesAsync(Path.Combine(RootPath, upload.ObjectKey)));
    }

    [Fact]
    public async Task A_refused_file_is_a_permanent_storage_error_and_a_missing_object_stays_FileNotFound()
    {
        var upload = await StartAsync();
        // A folder where the staging file belongs: the OS refuses to open it for writing (EISDIR → access denied),
        // the same refusal a root without write permission gives.
        File.Delete(StagingData(upload));
        Directory.CreateDirectory(StagingData(upload));

        var error = await Assert.ThrowsAsync<StorageBackendException>(() => WriteUnrecordedPartAsync(upload, 1, 0, new byte[5], Ct));

        Assert.False(error.IsTransient);
        Assert.Equal("AccessDenied", error.ErrorCode);
        Assert.IsType<UnauthorizedAccessException>(error.InnerException);
        await Assert.ThrowsAsync<FileNotFoundException>(() => Backend.OpenReadAsync("no/such/object.bin", 0, null, Ct));
    }

    [Fact]
    public async Task Writes_after_completion_or_abort_do_not_recreate_staging()
    {
        var completed = await WritePartAsync(await StartAsync(), 1, Bytes(10, seed: 10));
        await CompleteAsync(completed);
        var aborted = await StartAsync();
        await Backend.AbortAsync(aborted, Ct);

        foreach (var upload in new[] { completed, aborted })
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => WriteUnrecordedPartAsync(upload, 2, 10, new byte[5], Ct));
            await Assert.ThrowsAsync<InvalidOperationException>(() => Backend.Tails.WriteAsync(upload.Id, 1, new byte[5], Ct));
            await AssertNothingStagedAsync(upload);
        }
    }

    [Fact]
    public async Task Ranged_stream_stops_at_the_range_with_small_synchronous_reads()
    {
        var (source, key) = await CompletedObjectAsync(seed: 11);

        using var stream = await Backend.OpenReadAsync(key, 10, 1000, Ct);
        var buffer = new byte[7];
        using var copy = new MemoryStream();
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            copy.Write(buffer, 0, read);
        }

        Assert.Equal(source[10..1010], copy.ToArray());
        Assert.Equal(-1, stream.ReadByte());
    }

    [Fact]
    public async Task Read_to_the_end_is_a_seekable_file_stream()
    {
        var (source, key) = await CompletedObjectAsync(seed: 12);

        await using var stream = await Backend.OpenReadAsync(key, 100, null, Ct);

        Assert.True(stream.CanSeek);
        Assert.Equal(source.Length, stream.Length);
        Assert.Equal(100, stream.Position);
    }

    [Fact]
    public async Task Range_longer_than_the_object_is_clamped_and_an_offset_past_the_end_is_rejected()
    {
        var (source, key) = await CompletedObjectAsync(seed: 13);

        Assert.Equal(source[^10..], await ReadRangeAsync(key, source.Length - 10, 1000));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Backend.OpenReadAsync(key, source.Length + 1, null, Ct));
    }

    [Fact]
    public async Task A_folder_is_not_an_object()
    {
        var upload = await WritePartAsync(await StartAsync("folder/inner.bin"), 1, Bytes(10, seed: 14));
        await CompleteAsync(upload);

        await Assert.ThrowsAsync<FileNotFoundException>(() => Backend.OpenReadAsync("folder", 0, null, Ct));
        await Assert.ThrowsAsync<FileNotFoundException>(() => Backend.OpenReadAsync("no-such-folder/x.bin", 0, null, Ct));
    }

    [Fact]
    public async Task Cancelled_token_is_honoured()
    {
        var upload = await WritePartAsync(await StartAsync(), 1, Bytes(10, seed: 15));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => WriteUnrecordedPartAsync(upload, 2, 10, new byte[5], cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Backend.Tails.WriteAsync(upload.Id, 1, new byte[5], cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Backend.CompleteAsync(upload, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Backend.AbortAsync(upload, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Backend.OpenReadAsync(upload.ObjectKey, 0, null, cancelled.Token));

        // Nothing happened: the upload still completes with its durable bytes.
        Assert.Equal(10, (await CompleteAsync(upload)).Length);
    }

    [Fact]
    public async Task Content_written_as_text_reads_back_verbatim()
    {
        var text = Encoding.UTF8.GetBytes("héllo wörld\n");
        var upload = await WritePartAsync(await StartAsync("notes/hello.txt"), 1, text);
        await CompleteAsync(upload);

        Assert.Equal(text, await ReadObjectAsync("notes/hello.txt"));
    }
}
