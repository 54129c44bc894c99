using System.Net;

namespace StorageBridge.Tests;

/// <summary>
/// A request body for crash tests: announces <c>length</c> bytes of <see cref="DeterministicData"/> stream <c>seed</c>
/// from <c>offset</c>, writes the first <c>stallAfter</c> of them, then waits until the request is cancelled.
/// </summary>
public sealed class StallingContent(ulong seed, long offset, long length, long stallAfter) : HttpContent
{
    public TaskCompletionSource Stalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long BytesWritten { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (BytesWritten < stallAfter)
        {
            var n = (int)Math.Min(buffer.Length, stallAfter - BytesWritten);
            DeterministicData.Fill(seed, offset + BytesWritten, buffer.AsSpan(0, n));
            await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            BytesWritten += n;
        }

        await stream.FlushAsync(cancellationToken);
        Stalled.TrySetResult();
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    protected override bool TryComputeLength(out long computed)
    {
        computed = length;
        return true;
    }
}
