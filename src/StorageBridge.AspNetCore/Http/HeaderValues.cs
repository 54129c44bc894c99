using Microsoft.AspNetCore.Http;
using StorageBridge.Coordination;

namespace StorageBridge.AspNetCore.Http;

/// <summary>
/// Reads the structured header fields the protocols use. An invalid structured value counts as absent (RFC 9651:
/// a field that fails to parse is ignored), which the callers turn into a 400 where the field is required.
/// </summary>
internal static class HeaderValues
{
    public static bool IsPresent(HttpRequest request, string name) => request.Headers.ContainsKey(name);

    public static bool? GetBoolean(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) && StructuredFieldShim.TryParseBoolean(Join(values), out var value) ? value : null;

    public static long? GetInteger(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) && StructuredFieldShim.TryParseInteger(Join(values), out var value) ? value : null;

    /// <summary>The strongest supported digest in a Content-Digest / Repr-Digest field; Invalid when a supported one is malformed.</summary>
    public static (DigestValue? Digest, bool Invalid) GetDigest(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) ? StructuredFieldShim.ParseDigest(Join(values)) : (null, false);

    /// <summary>Whether Want-Repr-Digest asks for sha-256 (the algorithm we can report).</summary>
    public static bool WantsSha256(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) && StructuredFieldShim.WantsSha256(Join(values));

    public static string FormatDigest(string algorithm, byte[] value) => $"{algorithm}=:{Convert.ToBase64String(value)}:";

    public static string FormatBoolean(bool value) => value ? "?1" : "?0";

    private static string Join(Microsoft.Extensions.Primitives.StringValues values) =>
        values.Count == 1 ? values[0] ?? "" : string.Join(", ", values.ToArray());
}
