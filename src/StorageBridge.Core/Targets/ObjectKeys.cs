using System.Text;

namespace StorageBridge.Targets;

/// <summary>Builds object keys from a target's template; client-supplied names are neutralised first.</summary>
internal static class ObjectKeys
{
    public static string Build(UploadTargetOptions options, string targetName, string uploadId, string? fileName, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(options);
        var key = new StringBuilder(options.KeyTemplate)
            .Replace("{id}", uploadId)
            .Replace("{target}", SafeSegment(targetName))
            .Replace("{yyyy}", now.ToString("yyyy", System.Globalization.CultureInfo.InvariantCulture))
            .Replace("{MM}", now.ToString("MM", System.Globalization.CultureInfo.InvariantCulture))
            .Replace("{dd}", now.ToString("dd", System.Globalization.CultureInfo.InvariantCulture))
            .Replace("{filename}", string.IsNullOrWhiteSpace(fileName) ? uploadId : SafeSegment(fileName))
            .ToString();
        return options.Prefix + key;
    }

    /// <summary>
    /// Keeps letters, digits, '.', '-', '_' and replaces everything else (slashes, control and non-ASCII characters)
    /// with '_', so a client name can neither add folders nor escape the prefix. Leading dots are dropped ("..").
    /// </summary>
    public static string SafeSegment(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(Math.Min(value.Length, 200));
        foreach (var c in value)
        {
            if (builder.Length == 200)
            {
                break;
            }

            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }

        var result = builder.ToString().TrimStart('.');
        return result.Length == 0 ? "_" : result;
    }
}
