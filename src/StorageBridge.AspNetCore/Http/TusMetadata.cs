using System.Text;

namespace StorageBridge.AspNetCore.Http;

/// <summary>tus <c>Upload-Metadata</c>: comma-separated "key base64value" pairs. Invalid pairs are skipped.</summary>
internal static class TusMetadata
{
    public static Dictionary<string, string> Parse(string? header)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(header))
        {
            return result;
        }

        foreach (var pair in header.Split(','))
        {
            var trimmed = pair.Trim();
            var space = trimmed.IndexOf(' ', StringComparison.Ordinal);
            var key = space < 0 ? trimmed : trimmed[..space];
            if (key.Length == 0 || result.ContainsKey(key))
            {
                continue;
            }

            var encoded = space < 0 ? "" : trimmed[(space + 1)..].Trim();
            try
            {
                result[key] = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            }
            catch (FormatException)
            {
                // Ignored: metadata is advisory and must not fail the upload.
            }
        }

        return result;
    }
}
