using System.Globalization;
using System.Net;
using System.Text;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests.Support;

namespace StorageBridge.Protocol.Tests.Hostile;

/// <summary>Raw request heads and polling helpers shared by the hostile-input tests.</summary>
internal static class HostileRequests
{
    public static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static byte[] IetfPatchHead(string location, long offset, long? contentLength, bool complete = false, bool chunked = false) =>
        RawHttpConnection.Head(
            "PATCH", location,
            [
                "Upload-Draft-Interop-Version: 8",
                $"Upload-Offset: {I(offset)}",
                $"Upload-Complete: {(complete ? "?1" : "?0")}",
                "Content-Type: application/partial-upload",
                chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {I(contentLength!.Value)}",
            ]);

    public static byte[] TusPatchHead(string location, long offset, long? contentLength, bool chunked = false) =>
        RawHttpConnection.Head(
            "PATCH", location,
            [
                "Tus-Resumable: 1.0.0",
                $"Upload-Offset: {I(offset)}",
                "Content-Type: application/offset+octet-stream",
                chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {I(contentLength!.Value)}",
            ]);

    public static byte[] Concat(params byte[][] parts) => TestData.Concat(parts);

    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    /// <summary>
    /// Asks for the offset until it equals <paramref name="expected"/> (a request of a client that is gone finishes on
    /// its own time); returns the last offset seen, so the caller's assertion shows what was kept instead.
    /// </summary>
    public static async Task<long> OffsetOnceSettledAsync(HttpClient client, string location, long expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        long offset;
        do
        {
            offset = await client.OffsetAsync(location);
            if (offset == expected)
            {
                break;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        return offset;
    }


    /// <summary>Completes an IETF upload from the offset HEAD reports and checks the object's sha-256.</summary>
    public static async Task CompleteAndVerifyAsync(HttpClient client, string location, byte[] data)
    {
        var offset = await client.OffsetAsync(location);
        using (var rest = await client.AppendAsync(location, offset, complete: true, data[(int)offset..]))
        {
            Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        }

        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await client.DownloadAsync(location)));
    }
}
