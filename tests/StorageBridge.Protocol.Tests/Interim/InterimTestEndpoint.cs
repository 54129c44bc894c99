using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using StorageBridge.AspNetCore.Interim;

namespace StorageBridge.Protocol.Tests.Interim;

/// <summary>What the server saw for one request.</summary>
internal sealed record ServerObservation(string Location, bool WriterCreated, IReadOnlyList<bool> SendResults, Exception? Error);

/// <summary>
/// A creation-like endpoint: sends the initial 104 (Location, Upload-Limit, interop version), then reads the body
/// and sends a progress 104 (Upload-Offset) after every read, then answers 201 with Location and
/// "{length}:{sha256}" so the client can verify the body arrived intact. X-Interim-Sent counts the 1xx it sent.
/// </summary>
internal sealed class InterimTestEndpoint
{
    public const string Reason = "Upload Resumption Supported";

    private int _nextId;

    public ConcurrentQueue<ServerObservation> Observations { get; } = new();

    /// <summary>Read buffer size: small values force many reads and therefore many progress 104s.</summary>
    public int ReadBufferSize { get; init; } = 4096;

    public static IReadOnlyList<KeyValuePair<string, string>> InitialHeaders(string location) =>
    [
        new("Location", location),
        new("Upload-Limit", "min-size=0"),
        new("Upload-Draft-Interop-Version", "8"),
    ];

    public static IReadOnlyList<KeyValuePair<string, string>> ProgressHeaders(long offset) =>
        [new("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture))];

    public static string InitialBlock(string location) =>
        $"HTTP/1.1 104 {Reason}\r\nLocation: {location}\r\nUpload-Limit: min-size=0\r\nUpload-Draft-Interop-Version: 8\r\n\r\n";

    public static string ProgressBlock(long offset) => $"HTTP/1.1 104 {Reason}\r\nUpload-Offset: {offset}\r\n\r\n";

    public static string ExpectedBody(ReadOnlySpan<byte> body) => $"{body.Length}:{Convert.ToHexStringLower(SHA256.HashData(body))}";

    public async Task HandleAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var location = $"/uploads/{Interlocked.Increment(ref _nextId)}";
        var results = new List<bool>();
        var writer = InterimResponseWriter.TryCreate(context);
        try
        {
            if (writer is not null)
            {
                results.Add(await writer.TrySendAsync(104, Reason, InitialHeaders(location), ct));
            }

            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[ReadBufferSize];
            long total = 0;
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, ct)) > 0)
            {
                sha.AppendData(buffer, 0, read);
                total += read;
                if (writer is not null)
                {
                    // Between reads, from the request's own flow: the documented safe point.
                    results.Add(await writer.TrySendAsync(104, Reason, ProgressHeaders(total), ct));
                }
            }

            var payload = Encoding.ASCII.GetBytes($"{total}:{Convert.ToHexStringLower(sha.GetHashAndReset())}");
            context.Response.StatusCode = StatusCodes.Status201Created;
            context.Response.Headers.Location = location;
            context.Response.Headers["Upload-Offset"] = total.ToString(CultureInfo.InvariantCulture);
            context.Response.Headers["X-Interim-Sent"] = results.Count(r => r).ToString(CultureInfo.InvariantCulture);
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = payload.Length;
            await context.Response.Body.WriteAsync(payload, ct);
            Observations.Enqueue(new ServerObservation(location, writer is not null, results, null));
        }
        catch (Exception ex)
        {
            Observations.Enqueue(new ServerObservation(location, writer is not null, results, ex));
            throw;
        }
    }
}
