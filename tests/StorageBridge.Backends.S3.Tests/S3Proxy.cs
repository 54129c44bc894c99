using Microsoft.AspNetCore.Http;
using StorageBridge.Tests;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// A <see cref="HoldingProxy"/> between a Host process and the S3 endpoint, for crash tests: when
/// <see cref="HoldNextUploadPart"/> is set, the next UploadPart is forwarded and answered by S3 (the part IS stored),
/// then its response is held back forever, so the test can kill the host between the UploadPart and the metadata write
/// that would record it.
/// </summary>
public sealed class S3Proxy : IAsyncDisposable
{
    private readonly HoldingProxy proxy;

    private S3Proxy(HoldingProxy proxy) => this.proxy = proxy;

    public Uri Address => proxy.Address;

    /// <summary>Completed (with the part number) once a held UploadPart has been stored by S3.</summary>
    public TaskCompletionSource<string> PartStoredAndHeld => proxy.StoredAndHeld;

    public int UploadParts;

    public void HoldNextUploadPart() => proxy.HoldNext(request => IsUploadPart(request) ? request.Query["partNumber"].ToString() : null);

    public static async Task<S3Proxy> StartAsync(string serviceUrl)
    {
        S3Proxy? created = null;
        var proxy = await HoldingProxy.StartAsync(new Uri(serviceUrl), request =>
        {
            if (IsUploadPart(request))
            {
                Interlocked.Increment(ref created!.UploadParts);
            }
        });
        created = new S3Proxy(proxy);
        return created;
    }

    public ValueTask DisposeAsync() => proxy.DisposeAsync();

    private static bool IsUploadPart(HttpRequest request) =>
        request.Method == "PUT" && request.Query.ContainsKey("partNumber") && request.Query.ContainsKey("uploadId");
}
