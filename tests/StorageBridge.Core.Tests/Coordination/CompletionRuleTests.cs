using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// The per-request rules the IETF front-end sets: completion only on the client's flag (CompletesAtLength false),
/// invalidation by data past the known length (InvalidatesPastLength), and the durable offsets told to Progress. On an
/// S3-like multipart target (64 KiB parts), so parts, tails and the final part all take part.
/// </summary>
public sealed class CompletionRuleTests : IDisposable
{
    private readonly EngineHarness h = new(FaultInjectingBackend.S3Like(), new UploadTargetOptions { Backend = "S3Like" });

    public void Dispose() => h.Dispose();

    private Task<AppendResult> AppendAsync(AppendRequest request, byte[] data) =>
        h.Coordinator.AppendAsync(request, new TestBody(data, chunk: 7 * KiB + 3), CancellationToken.None);

    [Fact]
    public async Task Reaching_the_length_without_the_flag_keeps_the_upload_open_until_an_empty_completing_append()
    {
        var data = Bytes(200 * KiB + 5, seed: 71);
        var upload = await h.CreateAsync(length: data.Length);

        var reached = await AppendAsync(Request(upload.Id, 0, data.Length) with { CompletesAtLength = false }, data);

        Assert.Equal(UploadOutcome.Success, reached.Outcome);
        Assert.Equal(UploadState.Open, reached.Upload!.State);
        Assert.Equal(data.Length, reached.Upload.Offset);
        Assert.NotEqual(UploadOutcome.Success, (await h.Coordinator.OpenDownloadAsync(TargetName, upload.Id, 0, null, CancellationToken.None)).Outcome);

        var finished = await AppendAsync(Request(upload.Id, data.Length, 0, complete: true) with { CompletesAtLength = false }, []);

        Assert.Equal(UploadOutcome.Success, finished.Outcome);
        Assert.Equal(UploadState.Completed, finished.Upload!.State);
        Assert.Equal(data, await h.ReadObjectAsync(upload.Id));
    }

    [Fact]
    public async Task The_default_still_completes_at_the_declared_length()
    {
        var data = Bytes(100 * KiB, seed: 72);
        var upload = await h.CreateAsync(length: data.Length);

        var result = await h.AppendAsync(upload.Id, 0, data);

        Assert.Equal(UploadState.Completed, result.Upload!.State);
        Assert.Equal(data, await h.ReadObjectAsync(upload.Id));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Data_past_the_length_invalidates_the_upload_and_drops_its_bytes(bool sendContentLength)
    {
        var upload = await h.CreateAsync(length: 150 * KiB);
        Assert.Equal(UploadOutcome.Success, (await h.AppendAsync(upload.Id, 0, Bytes(100 * KiB, seed: 73))).Outcome);
        var past = Bytes(60 * KiB, seed: 74);

        var result = await AppendAsync(
            Request(upload.Id, 100 * KiB, sendContentLength ? past.Length : null) with { InvalidatesPastLength = true, CompletesAtLength = false }, past);

        Assert.Equal(UploadOutcome.LengthMismatch, result.Outcome);
        Assert.Equal(UploadState.Cancelled, result.Upload!.State);
        Assert.Equal(UploadState.Cancelled, (await h.LoadExistingAsync(upload.Id)).State);
        Assert.False(h.HasStagedData(upload.Id));
        Assert.True(h.Backend.AbortCalls >= 1);
        Assert.Equal(UploadOutcome.Gone, (await h.AppendAsync(upload.Id, 100 * KiB, Bytes(50 * KiB))).Outcome);
    }

    [Fact]
    public async Task Without_the_rule_data_past_the_length_is_refused_and_the_upload_stays()
    {
        var upload = await h.CreateAsync(length: 150 * KiB);
        await h.AppendAsync(upload.Id, 0, Bytes(100 * KiB, seed: 75));

        var result = await h.AppendAsync(upload.Id, 100 * KiB, Bytes(60 * KiB));

        Assert.Equal(UploadOutcome.LengthMismatch, result.Outcome);
        Assert.Equal(UploadState.Open, (await h.LoadExistingAsync(upload.Id)).State);
    }

    [Fact]
    public async Task Progress_hears_each_recorded_offset_in_order()
    {
        var data = Bytes(300 * KiB + 17, seed: 76);
        var upload = await h.CreateAsync();
        var heard = new List<long>();

        var result = await AppendAsync(Request(upload.Id, 0, data.Length) with { Progress = new Recorder(heard) }, data);

        Assert.Equal(UploadOutcome.Success, result.Outcome);
        Assert.NotEmpty(heard);
        Assert.Equal(heard.Order(), heard);
        Assert.Equal(heard.Distinct(), heard);
        Assert.All(heard, offset => Assert.InRange(offset, 1, result.Upload!.Offset));
        Assert.Contains(64 * KiB, heard);
    }

    private sealed class Recorder(List<long> heard) : IProgress<long>
    {
        public void Report(long value) => heard.Add(value);
    }
}
