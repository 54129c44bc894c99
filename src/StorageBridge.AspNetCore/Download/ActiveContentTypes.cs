using Microsoft.Net.Http.Headers;

namespace StorageBridge.AspNetCore.Download;

/// <summary>
/// Media types a browser could open as a document that runs script in the bridge's origin (stored XSS). Downloads of
/// these are always attachments with a sandboxing CSP. The families: HTML and XHTML; XML of any kind (text/xml,
/// application/xml, every <c>+xml</c> type such as SVG, MathML, RSS, XSLT, and every other subtype naming xml: XML
/// can carry XHTML script or an XSLT stylesheet); JavaScript and ECMAScript in any spelling; <c>multipart/*</c>
/// (x-mixed-replace renders its parts as documents); PDF (viewers run document script); Flash; and anything that does
/// not parse as a media type. Everything else (images other than SVG, audio, video, text/plain, JSON, CSS, octet
/// streams...) is passive under <c>X-Content-Type-Options: nosniff</c>.
/// </summary>
internal static class ActiveContentTypes
{
    private static readonly HashSet<string> Exact = new(StringComparer.OrdinalIgnoreCase)
    {
        "text/html", "application/xhtml+xml", "image/svg+xml", "text/xsl", "application/pdf", "application/x-pdf",
        "application/x-shockwave-flash", "text/jscript", "text/livescript", "application/vnd.ms-htmlhelp",
    };

    public static bool IsActive(string contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.Type.Length == 0 || parsed.SubType.Length == 0)
        {
            return true;
        }

        var type = parsed.Type.Value!;
        var subtype = parsed.SubType.Value!;
        return Exact.Contains($"{type}/{subtype}")
            || type.Equals("multipart", StringComparison.OrdinalIgnoreCase)
            || subtype.Contains("xml", StringComparison.OrdinalIgnoreCase)
            || subtype.Contains("html", StringComparison.OrdinalIgnoreCase)
            || subtype.Contains("javascript", StringComparison.OrdinalIgnoreCase)
            || subtype.Contains("ecmascript", StringComparison.OrdinalIgnoreCase);
    }
}
