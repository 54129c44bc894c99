using System.Globalization;
using System.Text;
using StorageBridge.Coordination;

namespace StorageBridge.AspNetCore.Protocols.Tus;

/// <summary>Strict parsers for tus 1.0.0 header values: anything that does not parse is a 400, never ignored.</summary>
internal static class TusHeaders
{
    public const string Version = "1.0.0";
    public const string OffsetOctetStream = "application/offset+octet-stream";

    /// <summary>tus integers are plain decimal digits (no sign, no structured-field syntax).</summary>
    public static bool TryParseLength(string? text, out long value)
    {
        value = 0;
        return !string.IsNullOrEmpty(text) && text.Length <= 19 && text.All(char.IsAsciiDigit)
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>
    /// Upload-Metadata: comma-separated "key base64" pairs; keys non-empty, unique, without spaces or commas; the value
    /// may be empty. Returns null when the header is malformed.
    /// </summary>
    public static Dictionary<string, string>? ParseMetadata(string header)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (header.Length == 0)
        {
            return result;
        }

        foreach (var pair in header.Split(','))
        {
            var parts = pair.Trim().Split(' ');
            if (parts.Length > 2 || parts[0].Length == 0 || result.ContainsKey(parts[0]))
            {
                return null;
            }

            try
            {
                result[parts[0]] = parts.Length == 2 ? Encoding.UTF8.GetString(Convert.FromBase64String(parts[1])) : "";
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return result;
    }

    /// <summary>tus checksum algorithm names mapped to the engine's digest names.</summary>
    public static string? DigestAlgorithm(string tusName) => tusName.ToLowerInvariant() switch
    {
        "sha1" => DigestValue.Sha1,
        "md5" => DigestValue.Md5,
        "sha256" => DigestValue.Sha256,
        "sha512" => DigestValue.Sha512,
        _ => null,
    };

    public const string ChecksumAlgorithms = "sha1,md5,sha256,sha512";

    /// <summary>Upload-Checksum: "&lt;algo&gt; &lt;base64&gt;". Error is a message for a 400.</summary>
    public static (DigestValue? Digest, string? Error) ParseChecksum(string header)
    {
        var parts = header.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2)
        {
            return (null, "Upload-Checksum must be '<algorithm> <base64 digest>'.");
        }

        if (DigestAlgorithm(parts[0]) is not { } algorithm)
        {
            return (null, $"Unsupported checksum algorithm '{parts[0]}'; supported: {ChecksumAlgorithms}.");
        }

        byte[] value;
        try
        {
            value = Convert.FromBase64String(parts[1]);
        }
        catch (FormatException)
        {
            return (null, "The Upload-Checksum digest is not base64.");
        }

        return value.Length == DigestValue.SizeOf(algorithm)
            ? (new DigestValue(algorithm, value), null)
            : (null, $"A {parts[0]} digest has {DigestValue.SizeOf(algorithm)} bytes, not {value.Length}.");
    }

    /// <summary>Upload-Concat: "partial", or "final;" followed by space-separated upload URLs. Null when malformed.</summary>
    public static (bool Partial, IReadOnlyList<string>? FinalUrls)? ParseConcat(string header)
    {
        var value = header.Trim();
        if (value == "partial")
        {
            return (true, null);
        }

        if (!value.StartsWith("final;", StringComparison.Ordinal))
        {
            return null;
        }

        var urls = value["final;".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return urls.Length == 0 ? null : (false, urls);
    }

    /// <summary>The upload id from a partial upload URL (absolute or a path) that must point into <paramref name="target"/>.</summary>
    public static string? IdFromUrl(string url, string target)
    {
        if (!Uri.TryCreate(url, UriKind.RelativeOrAbsolute, out var uri))
        {
            return null;
        }

        var path = uri.IsAbsoluteUri ? uri.AbsolutePath : url.Split('?', '#')[0];
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.Length >= 2 && string.Equals(Uri.UnescapeDataString(segments[^2]), target, StringComparison.OrdinalIgnoreCase)
            ? segments[^1]
            : null;
    }
}
