namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// A request body under test control: delivers <c>data</c> in chunks, and can stop after exactly N bytes either
/// by pausing (until <see cref="Resume"/> or until the read's token is cancelled) or by throwing
/// <see cref="IOException"/> like a dropped connection.
/// </summary>
internal sealed class TestBody : Stream
{
    private readonly byte[] data;
    private readonly int chunk;
    private readonly long? pauseAt;
    private readonly long? failAt;
    private readonly TaskCompletionSource paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long position;

    private readonly CancellationToken clientGone;

    /// <param name="clientGone">When cancelled during a pause, the paused read fails like Kestrel's body when the client leaves.</param>
    public TestBody(byte[] data, int chunk = 16 * 1024, long? pauseAt = null, long? failAt = null, CancellationToken clientGone = default)
    {
        this.clientGone = clientGone;
        this.data = data;
        this.chunk = chunk;
        this.pauseAt = pauseAt;
        this.failAt = failAt;
    }

    /// <summary>Completes when the body has delivered <c>pauseAt</c> bytes and waits.</summary>
    public Task Paused => paused.Task;

    public long Delivered => Interlocked.Read(ref position);

    public void Resume() => resume.TrySetResult();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (pauseAt is long pause && position == pause && !resume.Task.IsCompleted)
        {
            paused.TrySetResult();
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, clientGone);
            try
            {
                await resume.Task.WaitAsync(either.Token);
            }
            catch (OperationCanceledException) when (clientGone.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new IOException("The client went away (test).");
            }
        }

        if (failAt is long fail && position >= fail)
        {
            throw new IOException("The client went away (test).");
        }

        var limit = data.Length - position;
        if (pauseAt is long p && position < p)
        {
            limit = Math.Min(limit, p - position);
        }

        if (failAt is long f)
        {
            limit = Math.Min(limit, f - position);
        }

        var count = (int)Math.Min(Math.Min(buffer.Length, chunk), limit);
        data.AsMemory((int)position, count).CopyTo(buffer);
        Interlocked.Add(ref position, count);
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The coordinator reads asynchronously.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
