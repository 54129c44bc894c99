using StorageBridge.Backends;
using StorageBridge.Coordination;
using StorageBridge.FileSystem;
using StorageBridge.Targets;

namespace StorageBridge.Core.Tests.Coordination;

public sealed class PartPlannerTests
{
    private const long KiB = 1024;
    private const long MiB = 1024 * KiB;
    private const long GiB = 1024 * MiB;

    private static readonly BackendCapabilities S3 = new(5 * MiB, 1, 10_000, 5 * GiB, (int)(5 * MiB));
    private static readonly BackendCapabilities Gcs = new(256 * KiB, 256 * KiB, int.MaxValue, long.MaxValue, (int)(8 * MiB));
    private static readonly BackendCapabilities Files = new(0, 1, int.MaxValue, long.MaxValue, (int)MiB);
    private static readonly BackendCapabilities Small = new(64 * KiB, 16 * KiB, 10, MiB, (int)(64 * KiB));

    [Theory]
    [InlineData(5 * MiB, 5 * MiB)]
    [InlineData(1 * MiB, 5 * MiB)] // below the backend minimum: raised to it
    [InlineData(16 * MiB, 16 * MiB)]
    public void Without_a_length_the_configured_size_is_used_but_never_below_the_minimum(long configured, long expected)
    {
        Assert.Equal(expected, PartPlanner.PartSizeFor(S3, configured, length: null, partsLength: 0, partsWritten: 0));
    }

    [Theory]
    [InlineData(10 * GiB, 5 * MiB)] // 10,000 parts of 5 MiB already cover it
    [InlineData(50 * GiB, 5_368_710)] // ceil(53,687,091,200 / 10,000)
    [InlineData(100 * GiB, 10_737_419)] // ceil(107,374,182,400 / 10,000)
    [InlineData(10_000 * 5 * MiB, 5 * MiB)]
    [InlineData(10_000 * 5 * MiB + 1, 5 * MiB + 1)]
    public void A_declared_length_grows_the_part_size_so_MaxParts_cover_it(long length, long expected)
    {
        var size = PartPlanner.PartSizeFor(S3, 5 * MiB, length, partsLength: 0, partsWritten: 0);

        Assert.Equal(expected, size);
        Assert.True(size * S3.MaxParts >= length);
    }

    [Fact]
    public void Growth_counts_only_the_parts_still_allowed_and_the_bytes_still_missing()
    {
        // 9,000 parts of 5 MiB written; 1,000 left for 20 GiB more.
        var written = 9_000L * 5 * MiB;
        var size = PartPlanner.PartSizeFor(S3, 5 * MiB, written + (20 * GiB), written, 9_000);

        Assert.Equal(21_474_837, size); // ceil(21,474,836,480 / 1,000)
        Assert.True(size * 1_000 >= 20 * GiB);
    }

    [Fact]
    public void With_no_parts_left_the_configured_size_is_returned()
    {
        Assert.Equal(5 * MiB, PartPlanner.PartSizeFor(S3, 5 * MiB, 200 * GiB, 10 * GiB, 10_000));
    }

    [Fact]
    public void Backends_that_do_not_track_parts_ignore_the_length_and_round_up_to_their_alignment()
    {
        Assert.Equal(MiB, InPlace(Gcs).PartSizeFor(1_000_000, 10_000 * GiB, 0, 0)); // 4 x 256 KiB
        Assert.Equal(256 * KiB, InPlace(Gcs).PartSizeFor(1, null, 0, 0));
        Assert.Equal(4096, InPlace(Files).PartSizeFor(4096, 100 * GiB, 0, 0));
        Assert.Equal(1, InPlace(Files).PartSizeFor(0, null, 0, 0));
    }

    /// <summary>How the engine plans for an in-place backend with these rules (a file backend that writes nothing here).</summary>
    private static InPlaceShape InPlace(BackendCapabilities capabilities) =>
        new(new FileSystemBackend(new FileSystemBackendOptions { Root = Path.GetTempPath() }), capabilities);

    [Fact]
    public void Grown_sizes_are_rounded_up_to_the_alignment()
    {
        // ceil(1 MiB / 10) = 104,858 -> 7 x 16 KiB.
        Assert.Equal(114_688, PartPlanner.PartSizeFor(Small, 64 * KiB, MiB, 0, 0));
        Assert.Equal(80 * KiB, PartPlanner.PartSizeFor(Small, 65 * KiB, null, 0, 0));
    }

    [Fact]
    public void Part_size_is_capped_by_MaxPartSize_and_by_the_buffer_limit()
    {
        Assert.Equal(MiB, PartPlanner.PartSizeFor(Small, 64 * KiB, 100 * MiB, 0, 0));
        Assert.Equal(PartPlanner.MaxBufferSize, PartPlanner.PartSizeFor(S3, 5 * MiB, 10L * 1024 * GiB, 0, 0));
        Assert.Equal(PartPlanner.MaxBufferSize, PartPlanner.PartSizeFor(S3, 5 * MiB, 200 * GiB, 0, 9_999));
        Assert.Equal(512 * MiB, PartPlanner.MaxBufferSize);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(5 * MiB - 1, 0)]
    [InlineData(5 * MiB, 5 * MiB)]
    [InlineData(7 * MiB + 3, 7 * MiB + 3)]
    public void FlushableLength_needs_the_minimum(long buffered, long expected)
    {
        Assert.Equal(expected, PartPlanner.FlushableLength(S3, buffered));
    }

    [Theory]
    [InlineData(64 * KiB - 1, 0)]
    [InlineData(64 * KiB, 64 * KiB)]
    [InlineData(100_000, 98_304)] // 6 x 16 KiB; 1,696 bytes stay behind
    public void FlushableLength_rounds_down_to_the_alignment(long buffered, long expected)
    {
        Assert.Equal(expected, PartPlanner.FlushableLength(Small, buffered));
    }

    [Fact]
    public void FlushableLength_for_gcs_and_files()
    {
        Assert.Equal(256 * KiB, PartPlanner.FlushableLength(Gcs, 300_000));
        Assert.Equal(0, PartPlanner.FlushableLength(Gcs, 200_000));
        Assert.Equal(1, PartPlanner.FlushableLength(Files, 1));
        Assert.Equal(0, PartPlanner.FlushableLength(Files, 0));
        Assert.Equal(0, PartPlanner.FlushableLength(Files, -5));
    }

    [Fact]
    public void MaxDeclaredLength_is_the_largest_part_times_MaxParts()
    {
        Assert.Null(InPlace(Files).MaxDeclaredLength(MiB));
        Assert.Null(InPlace(Gcs).MaxDeclaredLength(MiB));
        Assert.Equal(512 * MiB * 10_000, PartPlanner.MaxDeclaredLength(S3, 5 * MiB));
        Assert.Equal(10 * MiB, PartPlanner.MaxDeclaredLength(Small, 64 * KiB));
        var huge = new BackendCapabilities(0, 1, int.MaxValue, long.MaxValue, 1);
        Assert.Equal(512 * MiB * int.MaxValue, PartPlanner.MaxDeclaredLength(huge, 1));
        Assert.Equal(long.MaxValue, PartPlanner.MaxDeclaredLength(huge, long.MaxValue / 1000)); // saturates
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(64 * KiB)]
    [InlineData(640 * KiB + 1)]
    [InlineData(1000 * KiB)]
    [InlineData(10 * MiB)]
    public void Every_accepted_declared_length_is_covered(long length)
    {
        Assert.True(length <= PartPlanner.MaxDeclaredLength(Small, 64 * KiB));
        var size = PartPlanner.PartSizeFor(Small, 64 * KiB, length, 0, 0);
        Assert.True(size * Small.MaxParts >= length);
        Assert.Equal(0, size % Small.PartAlignment);
    }
}
