using StorageBridge.AspNetCore.Protocols.Resumable;
using StorageBridge.Backends;
using StorageBridge.Core.Tests.Coordination;
using StorageBridge.FileSystem;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Tests.Resumable;

public sealed class ChunkLayoutTests
{
    [Theory]
    [InlineData(4500, 1000, null, 4, 1500)]   // floor: the last chunk takes the remainder (up to 2 x chunk - 1)
    [InlineData(4500, 1000, 4L, 4, 1500)]
    [InlineData(4500, 1000, 5L, 5, 500)]     // Flow.js forceChunkSize: ceil
    [InlineData(4000, 1000, 4L, 4, 1000)]
    [InlineData(999, 1000, null, 1, 999)]     // one chunk smaller than the chunk size
    [InlineData(1999, 1000, 1L, 1, 1999)]
    [InlineData(0, 1000, null, 1, 0)]         // an empty file is one empty chunk
    [InlineData(0, 1000, 1L, 1, 0)]
    public void Counts_and_sizes_follow_Resumable_js(long total, long chunkSize, long? totalChunks, int count, long last)
    {
        var (layout, error) = ChunkLayout.From(chunkSize, total, totalChunks);
        Assert.Null(error);
        Assert.Equal(count, layout!.Value.ChunkCount);
        Assert.Equal(last, layout.Value.SizeOf(count));
        Assert.Equal(total, layout.Value.End(count));
        Assert.Equal(Enumerable.Range(1, count).Sum(k => layout.Value.SizeOf(k)), total);
        // The layout survives the upload record (typed state as JSON in its protocol state).
        var upload = new StorageBridge.Uploads.UploadRecord { Id = "x", Target = "t", ObjectKey = "k" };
        var state = new ChunkUploadState { Layout = layout.Value, Direct = false, Lookup = "rjs-x" };
        Assert.Equal(layout, ChunkUploadState.Read(upload with { ProtocolState = state.WriteTo(upload.ProtocolState) })?.Layout);
    }

    [Theory]
    [InlineData(0, 100, null)]
    [InlineData(1000, -1, null)]
    [InlineData(1000, 4500, 3L)]
    [InlineData(1000, 4500, 6L)]
    [InlineData(1000, 4000, 5L)]
    public void Inconsistent_fields_are_refused(long chunkSize, long total, long? totalChunks)
    {
        var (layout, error) = ChunkLayout.From(chunkSize, total, totalChunks);
        Assert.Null(layout);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Chunk_numbers_and_current_sizes_are_checked()
    {
        var layout = ChunkLayout.From(1000, 4500, null).Layout!.Value;
        Assert.Null(layout.CheckChunk(1, 1000));
        Assert.Null(layout.CheckChunk(4, 1500));
        Assert.Null(layout.CheckChunk(2, null));
        Assert.NotNull(layout.CheckChunk(0, null));
        Assert.NotNull(layout.CheckChunk(5, null));
        Assert.NotNull(layout.CheckChunk(4, 1000));
        Assert.NotNull(layout.CheckChunk(1, 1500));
        Assert.Equal(4, layout.ChunkAt(4499));
        Assert.Equal(2, layout.ChunkAt(1000));
        Assert.Equal(1500, layout.MaxChunkSize);
    }

    [Fact]
    public void Direct_parts_need_a_valid_part_size_and_split_a_long_last_chunk()
    {
        var s3 = FaultInjectingBackend.S3Like(maxParts: 10_000, minPartSize: 5 << 20, maxPartSize: 5L << 30);
        var mib8 = ChunkLayout.From(8 << 20, (17 << 20) + 5, null).Layout!.Value;
        Assert.Equal(2, mib8.ChunkCount);
        Assert.Equal(3, mib8.DirectPartCount); // 8 MiB + (8 MiB + 1 MiB + 5 split into 8 MiB and 1 MiB + 5)
        Assert.True(mib8.FitsDirectParts(Multipart(s3, partSize: 8 << 20)));
        Assert.False(mib8.FitsDirectParts(Multipart(s3, partSize: 5 << 20)));              // larger than the target's part buffer
        Assert.False(ChunkLayout.From(1 << 20, 10 << 20, null).Layout!.Value.FitsDirectParts(Multipart(s3, 8 << 20))); // below 5 MiB
        Assert.False(ChunkLayout.From(8 << 20, 0, null).Layout!.Value.FitsDirectParts(Multipart(s3, 8 << 20)));       // empty file
        var twelveParts = ChunkLayout.From(64 * 1024, (10 * 64 * 1024) + 100_000, null).Layout!.Value;
        Assert.Equal(11, twelveParts.ChunkCount);
        Assert.Equal(12, twelveParts.DirectPartCount);
        Assert.False(twelveParts.FitsDirectParts(Multipart(FaultInjectingBackend.S3Like(maxParts: 11), 64 * 1024))); // more parts than allowed
        Assert.True(twelveParts.FitsDirectParts(Multipart(FaultInjectingBackend.S3Like(maxParts: 12), 64 * 1024)));
        var inPlace = new UploadTarget("files", Files(), new UploadTargetOptions { Backend = "FileSystem", PartSize = 8 << 20 });
        Assert.False(ChunkLayout.From(1 << 20, 10 << 20, null).Layout!.Value.FitsDirectParts(inPlace)); // in-order sessions and files
        var aligned = FaultInjectingBackend.S3Like(alignment: 256 * 1024, maxParts: 10_000, minPartSize: 256 * 1024, maxPartSize: 1 << 30);
        Assert.False(ChunkLayout.From(300_000, 10 << 20, null).Layout!.Value.FitsDirectParts(Multipart(aligned, 8 << 20))); // unaligned
        Assert.True(ChunkLayout.From(512 * 1024, 10 << 20, null).Layout!.Value.FitsDirectParts(Multipart(aligned, 8 << 20)));
    }

    private static FileSystemBackend Files() => new(new FileSystemBackendOptions { Root = Path.GetTempPath() });

    /// <summary>A target whose backend records parts with <paramref name="capabilities"/> and whose part size is <paramref name="partSize"/>.</summary>
    private static UploadTarget Multipart(BackendCapabilities capabilities, int partSize) =>
        new("parts", FaultInjectingBackend.Multipart(Files(), capabilities), new UploadTargetOptions { Backend = "test", PartSize = partSize });
}
