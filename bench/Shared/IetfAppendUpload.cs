using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using StorageBridge.Tests;

namespace StorageBridge.Bench;

/// <summary>
/// The bridge side of the cloud benchmarks: one IETF upload of <c>length</c> deterministic bytes in appends of
/// <c>appendSize</c>, the bytes generated per append (the same PRNG cost as the SDK side's stream).
/// </summary>
internal static class IetfAppendUpload
{
    /// <summary>Creates the upload on <paramref name="target"/>, appends every byte and returns the upload's location.</summary>
    public static async Task<Uri> RunAsync(HttpClient http, string target, long length, int appendSize, ulong seed, CancellationToken cancellationToken)
    {
        var buffer = new byte[appendSize];
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/" + target) { Content = new ByteArrayContent([]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
        using var created = await http.SendAsync(create, cancellationToken);
        if (created.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"create: {(int)created.StatusCode}");
        }

        var location = created.Headers.Location!;
        for (long offset = 0; offset < length; offset += appendSize)
        {
            var n = (int)Math.Min(appendSize, length - offset);
            DeterministicData.Fill(seed, offset, buffer.AsSpan(0, n));
            using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(buffer, 0, n) };
            patch.Headers.Add("Upload-Draft-Interop-Version", "8");
            patch.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
            patch.Headers.Add("Upload-Complete", offset + n == length ? "?1" : "?0");
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
            using var response = await http.SendAsync(patch, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"PATCH at {offset}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
        }

        return location;
    }
}
