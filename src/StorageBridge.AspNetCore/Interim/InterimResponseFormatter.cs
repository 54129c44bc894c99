using System.Globalization;
using System.Text;

namespace StorageBridge.AspNetCore.Interim;

/// <summary>
/// Validates and serialises one HTTP/1.1 informational (1xx) response head. The bytes go straight onto the
/// connection, bypassing Kestrel's own header validation, so everything is checked here: a CR or LF in a
/// caller-supplied string would otherwise let it inject headers or whole responses.
/// </summary>
internal static class InterimResponseFormatter
{
    /// <summary>Formats <c>HTTP/1.1 {code} {reason}\r\n</c> + <c>{name}: {value}\r\n</c>… + <c>\r\n</c> as ASCII.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Status code outside 100-199, or 101 (a protocol switch is not interim).</exception>
    /// <exception cref="ArgumentException">Reason phrase, header name or value with CR, LF, other controls or non-ASCII characters.</exception>
    public static byte[] Format(int statusCode, string reasonPhrase, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        ArgumentNullException.ThrowIfNull(reasonPhrase);
        ArgumentNullException.ThrowIfNull(headers);

        // 101 changes the protocol of the connection; Kestrel must own that (IHttpUpgradeFeature).
        if (statusCode is < 100 or > 199 || statusCode == 101)
        {
            throw new ArgumentOutOfRangeException(nameof(statusCode), statusCode, "Only informational status codes 100-199 other than 101 can be sent as interim responses.");
        }

        if (!IsValidText(reasonPhrase))
        {
            throw new ArgumentException("The reason phrase may only contain visible ASCII characters, spaces and tabs.", nameof(reasonPhrase));
        }

        var builder = new StringBuilder(64 + (headers.Count * 48));
        builder.Append("HTTP/1.1 ").Append(statusCode.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(reasonPhrase).Append("\r\n");

        for (var i = 0; i < headers.Count; i++)
        {
            var (name, value) = (headers[i].Key, headers[i].Value);
            if (string.IsNullOrEmpty(name) || !IsToken(name))
            {
                throw new ArgumentException($"Header name '{Printable(name)}' is not a valid HTTP token.", nameof(headers));
            }

            // A 1xx never has content, but a client that honours framing fields on it would desynchronise.
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"Header '{name}' is not allowed on an interim response.", nameof(headers));
            }

            if (value is null || !IsValidText(value))
            {
                throw new ArgumentException($"The value of header '{name}' may only contain visible ASCII characters, spaces and tabs.", nameof(headers));
            }

            builder.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        builder.Append("\r\n");
        return Encoding.ASCII.GetBytes(builder.ToString());
    }

    // RFC 9110 tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
    private static bool IsToken(string name)
    {
        foreach (var c in name)
        {
            var ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
                or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    // VCHAR / SP / HTAB only: obs-text is legal on the wire but not ASCII, and CR/LF/NUL enable injection.
    private static bool IsValidText(string text)
    {
        foreach (var c in text)
        {
            if (c != '\t' && (c < 0x20 || c > 0x7E))
            {
                return false;
            }
        }

        return true;
    }

    // Keeps exception messages single-line and ASCII even when the offending name is neither.
    private static string Printable(string? text)
    {
        if (text is null)
        {
            return "(null)";
        }

        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            sb.Append(c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:x4}");
        }

        return sb.ToString();
    }
}
