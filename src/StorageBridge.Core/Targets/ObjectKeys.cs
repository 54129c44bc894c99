using System.Security.Claims;
using System.Text;
using System.Text.RegularExpressions;

namespace StorageBridge.Targets;

/// <summary>Builds object keys from a target's template; client-supplied names are neutralised first.</summary>
internal static partial class ObjectKeys
{
    /// <summary>The object key of a template that names no claims.</summary>
    public static string Build(UploadTargetOptions options, string targetName, string uploadId, string? fileName, DateTimeOffset now) =>
        Build(options, targetName, uploadId, fileName, now, principal: null) ?? throw new InvalidOperationException("The key template names claims: pass the principal.");

    /// <summary>
    /// The object key of a new upload, or null when the template or prefix names a claim (<c>{claim:NAME}</c>) that
    /// <paramref name="principal"/> lacks, holds more than once with different values, or whose value is not a safe
    /// single path segment (<see cref="IsSafeClaimSegment"/>): such a creation is refused, never written elsewhere.
    /// </summary>
    public static string? Build(UploadTargetOptions options, string targetName, string uploadId, string? fileName, DateTimeOffset now, ClaimsPrincipal? principal)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (FillClaims(options.Prefix, principal) is not { } prefix || FillClaims(options.KeyTemplate, principal) is not { } template)
        {
            return null;
        }

        var key = new StringBuilder(template)
            .Replace("{id}", uploadId)
            .Replace("{target}", SafeSegment(targetName))
            .Replace("{yyyy}", now.ToString("yyyy", System.Globalization.CultureInfo.InvariantCulture))
            .Replace("{MM}", now.ToString("MM", System.Globalization.CultureInfo.InvariantCulture))
            .Replace("{dd}", now.ToString("dd", System.Globalization.CultureInfo.InvariantCulture))
            .Replace("{filename}", string.IsNullOrWhiteSpace(fileName) ? uploadId : SafeSegment(fileName))
            .ToString();
        return prefix + key;
    }

    /// <summary>
    /// A claim value that may become one path segment as it is: 1 to 128 ASCII letters, digits, '-', '_' or '.', not
    /// starting with '.' (so never "." or ".."). Anything else (a '/', '\', ':', a control or non-ASCII character) is
    /// refused rather than rewritten, so two tenants can never be mapped onto one prefix.
    /// </summary>
    public static bool IsSafeClaimSegment(string value) =>
        value.Length is > 0 and <= 128 && value[0] != '.'
        && value.AsSpan().IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") < 0;

    /// <summary>The text with every <c>{claim:NAME}</c> filled from <paramref name="principal"/>, or null when one cannot be.</summary>
    public static string? FillClaims(string text, ClaimsPrincipal? principal)
    {
        if (!text.Contains("{claim:", StringComparison.Ordinal))
        {
            return text;
        }

        var refused = false;
        var filled = ClaimPlaceholder().Replace(text, match =>
        {
            var values = principal?.FindAll(match.Groups[1].Value).Select(c => c.Value).Distinct(StringComparer.Ordinal).ToList() ?? [];
            if (values is [var value] && IsSafeClaimSegment(value))
            {
                return value;
            }

            refused = true;
            return "";
        });
        return refused ? null : filled;
    }

    [GeneratedRegex(@"\{claim:([^{}]+)\}", RegexOptions.CultureInvariant)]
    private static partial Regex ClaimPlaceholder();

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
