using StorageBridge.Coordination;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// Takeover within one process (issue 11 item 16): a newer request that cancels an operation just as it ends must not
/// fail (it used to cancel a CancellationTokenSource the finishing request had already disposed: 503).
/// </summary>
public sealed class ActivityRegistryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Cancelling_an_operation_that_already_ended_is_a_no_op()
    {
        var registry = new UploadActivityRegistry();
        var operation = (await registry.BeginAsync("u1", Wait, CancellationToken.None))!;
        operation.Dispose();

        await operation.CancelAsync();

        Assert.True(operation.Released.IsCompleted);
    }

    [Fact]
    public async Task Takeovers_racing_the_end_of_operations_never_throw()
    {
        var registry = new UploadActivityRegistry();
        var failures = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 4000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            try
            {
                if (i % 2 == 0)
                {
                    using var operation = await registry.BeginAsync("shared", Wait, ct);
                    await Task.Yield();
                }
                else
                {
                    await registry.EndActiveAsync("shared", Wait, ct);
                }
            }
            catch (ObjectDisposedException)
            {
                Interlocked.Increment(ref failures);
            }
        });

        Assert.Equal(0, failures);
    }

    [Fact]
    public async Task A_takeover_stops_an_operation_whose_client_is_there_but_not_one_whose_client_is_gone()
    {
        var registry = new UploadActivityRegistry();
        using var alive = await registry.BeginAsync("alive", Wait, CancellationToken.None, CancellationToken.None);
        await registry.EndActiveAsync("alive", TimeSpan.Zero, CancellationToken.None);
        Assert.True(alive!.IsTakenOver);
        Assert.True(alive.TakeoverToken.IsCancellationRequested);

        using var aborted = new CancellationTokenSource();
        await aborted.CancelAsync();
        using var gone = await registry.BeginAsync("gone", Wait, CancellationToken.None, aborted.Token);
        await registry.EndActiveAsync("gone", TimeSpan.Zero, CancellationToken.None);
        Assert.True(gone!.IsTakenOver);
        Assert.False(gone.TakeoverToken.IsCancellationRequested);
    }
}
