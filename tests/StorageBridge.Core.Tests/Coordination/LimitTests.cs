using StorageBridge.Coordination;
using StorageBridge.Targets;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>MaxUploadSize, MaxAppendSize and MinAppendSize on the file backend, with and without Content-Length.</summary>
public sealed class LimitTests : IDisposable
{
    private readonly EngineHarness h = new(options: new UploadTargetOptions
    {
        Backend = "FileSystem",
        PartSize = 4 * KiB,
        MaxUploadSize = 10_000,
        MaxAppendSize = 6000,
        MinAppendSize = 1000,
    });

    public void Dispose() => h.Dispose();

    [Fact]
    public void Limits_are_advertised_from_the_options()
    {
        Assert.Equal(new UploadLimits(10_000, 0, 6000, 1000), h.Target.Limits);
        Assert.Equal(10_000, UploadCoordinator.MaxLength(h.Target, declared: true));
        Assert.Equal(10_000, UploadCoordinator.MaxLength(h.Target, declared: false));
    }

    [Fact]
    public async Task A_declared_length_above_MaxUploadSize_is_refused_at_creation()
    {
        var tooLarge = await h.Coordinator.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = 10_001 }, CancellationToken.None);
        var negative = await h.Coordinator.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = -1 }, CancellationToken.None);
        var atLimit = await h.Coordinator.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = 10_000 }, CancellationToken.None);

        Assert.Equal(UploadOutcome.TooLarge, tooLarge.Outcome);
        Assert.Equal(LimitKind.MaxSize, tooLarge.Limit);
        Assert.Null(tooLarge.Upload);
        Assert.Equal(UploadOutcome.LengthMismatch, negative.Outcome);
        Assert.Equal(UploadOutcome.Success, atLimit.Outcome);
    }

    [Fact]
    public async Task Declaring_a_length_above_MaxUploadSize_on_an_append_is_refused()
    {
        var upload = await h.CreateAsync();

        var result = await h.AppendAsync(upload.Id, 0, Bytes(2000), declaredLength: 10_001);

        Assert.Equal(UploadOutcome.TooLarge, result.Outcome);
        Assert.Equal(LimitKind.MaxSize, result.Limit);
        Assert.Null((await h.LoadExistingAsync(upload.Id)).Length);
    }

    [Fact]
    public async Task Passing_MaxUploadSize_with_a_content_length_stores_nothing()
    {
        var upload = await h.CreateAsync();
        var source = Bytes(10_001);
        for (var offset = 0; offset < 9000; offset += 3000)
        {
            Assert.Equal(UploadOutcome.Success, (await h.AppendAsync(upload.Id, offset, source[offset..(offset + 3000)])).Outcome);
        }

        var result = await h.AppendAsync(upload.Id, 9000, source[9000..]);

        Assert.Equal(UploadOutcome.TooLarge, result.Outcome);
        Assert.Equal(LimitKind.MaxSize, result.Limit);
        Assert.Equal(9000, (await h.LoadExistingAsync(upload.Id)).Offset);
    }

    [Fact]
    public async Task Passing_MaxUploadSize_while_streaming_keeps_the_bytes_up_to_the_limit_only()
    {
        var upload = await h.CreateAsync();
        var source = Bytes(12_000);
        await h.AppendAsync(upload.Id, 0, source[..5000]);

        var result = await h.AppendAsync(upload.Id, 5000, source[5000..], sendContentLength: false);

        Assert.Equal(UploadOutcome.TooLarge, result.Outcome);
        Assert.Equal(LimitKind.MaxSize, result.Limit);
        var record = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(10_000, record.Offset);
        Assert.Equal(10_000, new FileInfo(h.StagingData(upload.Id)).Length);
    }

    [Fact]
    public async Task An_append_over_MaxAppendSize_is_refused_or_cut_at_the_limit()
    {
        var upload = await h.CreateAsync();
        var source = Bytes(7000);

        var announced = await h.AppendAsync(upload.Id, 0, source);
        Assert.Equal(UploadOutcome.TooLarge, announced.Outcome);
        Assert.Equal(LimitKind.MaxAppendSize, announced.Limit);
        Assert.Equal(0, (await h.LoadExistingAsync(upload.Id)).Offset);

        var streamed = await h.AppendAsync(upload.Id, 0, source, sendContentLength: false);
        Assert.Equal(UploadOutcome.TooLarge, streamed.Outcome);
        Assert.Equal(LimitKind.MaxAppendSize, streamed.Limit);
        Assert.Equal(6000, (await h.LoadExistingAsync(upload.Id)).Offset);

        var rest = await h.AppendAsync(upload.Id, 6000, source[6000..], complete: true);
        Assert.Equal(UploadOutcome.Success, rest.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task Appends_below_MinAppendSize_are_refused_unless_completing_or_an_empty_creation()
    {
        var upload = await h.CreateAsync();
        var source = Bytes(1010);

        var small = await h.AppendAsync(upload.Id, 0, source[..999]);
        Assert.Equal(UploadOutcome.TooSmall, small.Outcome);
        Assert.Equal(LimitKind.MinAppendSize, small.Limit);

        var emptyCreation = await h.AppendAsync(upload.Id, 0, [], isCreation: true);
        Assert.Equal(UploadOutcome.Success, emptyCreation.Outcome);

        var smallCreation = await h.AppendAsync(upload.Id, 0, source[..5], isCreation: true);
        Assert.Equal(UploadOutcome.TooSmall, smallCreation.Outcome);

        Assert.Equal(UploadOutcome.Success, (await h.AppendAsync(upload.Id, 0, source[..1000])).Outcome);
        var last = await h.AppendAsync(upload.Id, 1000, source[1000..], complete: true);
        Assert.Equal(UploadOutcome.Success, last.Outcome);
        Assert.Equal(1010, last.Upload!.Length);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }
}
