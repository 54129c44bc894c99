using System.Globalization;

namespace StorageBridge.GcsEmulator;

/// <summary>
/// Content-Range of a session request: "bytes a-b/total", "bytes a-b/*", "bytes */total" or "bytes */*".
/// First/Last are null for a status query; Total is null when unknown.
/// </summary>
public readonly record struct ContentRange(long? First, long? Last, long? Total)
{
    public static ContentRange FromRequest(HttpRequest request)
    {
        string? header = request.Headers.ContentRange;
        if (string.IsNullOrWhiteSpace(header))
        {
            // No Content-Range: the body is the whole object in one request.
            long length = request.ContentLength ?? throw GcsException.BadRequest("Content-Range or Content-Length is required.");
            return length == 0 ? new ContentRange(null, null, 0) : new ContentRange(0, length - 1, length);
        }

        return Parse(header);
    }

    public static ContentRange Parse(string header)
    {
        string value = header.Trim();
        int slash = value.IndexOf('/', StringComparison.Ordinal);
        if (!value.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase) || slash < 0)
        {
            throw Invalid(header);
        }

        string range = value[6..slash].Trim();
        string total = value[(slash + 1)..].Trim();
        long? parsedTotal = total == "*" ? null : Number(total, header);
        if (range == "*")
        {
            return new ContentRange(null, null, parsedTotal);
        }

        int dash = range.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0)
        {
            throw Invalid(header);
        }

        long first = Number(range[..dash], header);
        long last = Number(range[(dash + 1)..], header);
        return last < first ? throw Invalid(header) : new ContentRange(first, last, parsedTotal);
    }

    private static long Number(string text, string header) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : throw Invalid(header);

    private static GcsException Invalid(string header) => GcsException.BadRequest($"Invalid Content-Range: {header}");
}
