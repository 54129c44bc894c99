using StorageBridge.Coordination;

namespace StorageBridge.AspNetCore.Http;

// Minimal stand-in until the strict RFC 9651 parser lands from its branch.
internal static class StructuredFieldShim
{
    public static bool TryParseBoolean(string value, out bool result)
    {
        var v = value.Trim(' ');
        var semi = v.IndexOf(';', StringComparison.Ordinal);
        if (semi >= 0) v = v[..semi];
        result = v == "?1";
        return v is "?1" or "?0";
    }

    public static bool TryParseInteger(string value, out long result)
    {
        result = 0;
        var v = value.Trim(' ');
        var semi = v.IndexOf(';', StringComparison.Ordinal);
        if (semi >= 0) v = v[..semi];
        var digits = v.StartsWith('-') ? v[1..] : v;
        if (digits.Length is 0 or > 15 || digits.AsSpan().IndexOfAnyExcept("0123456789") >= 0) return false;
        result = long.Parse(v, System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    public static (DigestValue? Digest, bool Invalid) ParseDigest(string value)
    {
        DigestValue? best = null;
        foreach (var member in value.Split(','))
        {
            var parts = member.Trim().Split('=', 2);
            if (parts.Length != 2) return (null, false);
            var alg = parts[0].Trim();
            var v = parts[1].Trim();
            if (alg is not (DigestValue.Sha256 or DigestValue.Sha512)) continue;
            if (v.Length < 2 || v[0] != ':' || v[^1] != ':') return (null, true);
            byte[] bytes;
            try { bytes = Convert.FromBase64String(v[1..^1]); } catch (FormatException) { return (null, true); }
            if (bytes.Length != (alg == DigestValue.Sha256 ? 32 : 64)) return (null, true);
            if (best is null || alg == DigestValue.Sha512) best = new DigestValue(alg, bytes);
        }

        return (best, false);
    }

    public static bool WantsSha256(string value) =>
        value.Split(',').Any(m => m.Trim().StartsWith("sha-256=", StringComparison.Ordinal) && !m.Trim().EndsWith("=0", StringComparison.Ordinal));
}
