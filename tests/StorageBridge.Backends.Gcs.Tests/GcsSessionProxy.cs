using Microsoft.AspNetCore.Http;
using StorageBridge.Tests;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>
/// A <see cref="HoldingProxy"/> between a Host process and the GCS emulator, for crash tests. Session URIs point at the
/// proxy (the emulator builds them from the Host header, which is forwarded unchanged). After
/// <see cref="HoldNextChunk"/>, the next matching chunk PUT is answered by GCS (the bytes ARE persisted) and the answer
/// is held back: the test kills the host between "GCS accepted the chunk" and the record write.
/// </summary>
public sealed class GcsSessionProxy : IAsyncDisposable
{
    private readonly List<string> contentRanges = [];
    private HoldingProxy proxy = null!;

    private GcsSessionProxy()
    {
    }

    /// <summary>The JSON-API root to configure as the target's BaseUri.</summary>
    public Uri BaseUri { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Completed with the held chunk's Content-Range once GCS has answered it.</summary>
    public TaskCompletionSource<string> ChunkAcceptedAndHeld => proxy.StoredAndHeld;

    /// <summary>Content-Range of every session PUT so far (chunks and <c>bytes */…</c> status queries), in order.</summary>
    public IReadOnlyList<string> ContentRanges
    {
        get
        {
            lock (contentRanges)
            {
                return [.. contentRanges];
            }
        }
    }

    /// <summary>Holds the answer to the next data chunk whose Content-Range matches.</summary>
    public void HoldNextChunk(Func<string, bool> contentRange) =>
        proxy.HoldNext(request => SessionPutRange(request) is { } range && !range.StartsWith("bytes */", StringComparison.Ordinal) && contentRange(range) ? range : null);

    public static async Task<GcsSessionProxy> StartAsync(string emulatorBaseUri)
    {
        var created = new GcsSessionProxy();
        var root = new Uri(emulatorBaseUri);
        created.proxy = await HoldingProxy.StartAsync(root, request =>
        {
            if (SessionPutRange(request) is { } range)
            {
                lock (created.contentRanges)
                {
                    created.contentRanges.Add(range);
                }
            }
        });
        created.BaseUri = new Uri(created.proxy.Address, root.AbsolutePath);
        return created;
    }

    public ValueTask DisposeAsync() => proxy.DisposeAsync();

    private static string? SessionPutRange(HttpRequest request) =>
        request.Method == "PUT" && request.Query.ContainsKey("upload_id") && request.Headers["Content-Range"].ToString() is { Length: > 0 } range ? range : null;
}
