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
        request.Headers.TryGetValue(name, out var values) && StructuredFieldParser.TryParseBoolean(values, out var value) ? value : null;

    public static long? GetInteger(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) && StructuredFieldParser.TryParseInteger(values, out var value) ? value : null;

    /// <summary>
    /// The strongest supported digest in a Content-Digest / Repr-Digest field; Invalid when a supported one is malformed,
    /// or when the field names only algorithms the server does not check (it would otherwise pass unverified).
    /// </summary>
    public static (DigestValue? Digest, bool Invalid) GetDigest(HttpRequest request, string name)
    {
        if (!request.Headers.TryGetValue(name, out var values))
        {
            return (null, false);
        }

        if (!DigestFields.TryParseStrongest(values, out var digest))
        {
            return (null, true);
        }

        return (digest, digest is null && DigestFields.AlgorithmsIn(values).Count > 0);
    }

    /// <summary>
    /// The member for <paramref name="algorithm"/> of a digest field; Invalid when the field is malformed, or when it
    /// names algorithms but not <paramref name="algorithm"/>, the only one checked (nothing of it would be verified).
    /// </summary>
    public static (DigestValue? Digest, bool Invalid) GetDigest(HttpRequest request, string name, string algorithm)
    {
        if (!request.Headers.TryGetValue(name, out var values))
        {
            return (null, false);
        }

        if (!DigestFields.TryParse(values, out var digests))
        {
            return (null, true);
        }

        var digest = digests.FirstOrDefault(d => d.Algorithm == algorithm);
        return (digest, digest is null && DigestFields.AlgorithmsIn(values).Count > 0);
    }

    /// <summary>Whether a Want-*-Digest field asks for sha-256, the one algorithm whose running state we keep.</summary>
    public static bool WantsSha256(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values)
        && DigestFields.TrySelectWanted(values, Sha256Only, out var algorithm)
        && algorithm == DigestValue.Sha256;

    public static string FormatDigest(string algorithm, byte[] value) => DigestFields.Format(algorithm, value);

    public static string FormatBoolean(bool value) => StructuredFieldWriter.FormatBoolean(value);

    private static readonly string[] Sha256Only = [DigestValue.Sha256];
}
