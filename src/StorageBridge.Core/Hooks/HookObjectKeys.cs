using System.Text;

namespace StorageBridge.Hooks;

/// <summary>
/// Checks an object key a creation hook chose. The target's prefix is always prepended; what could leave it, confuse a
/// backend or collide with the backends' staging objects is refused (the hook's bug: the creation fails with 500).
/// </summary>
internal static class HookObjectKeys
{
    /// <summary>S3 and GCS limit keys to 1,024 UTF-8 bytes, Azure blob names to 1,024 characters.</summary>
    public const int MaxKeyBytes = 1024;

    // Folders the backends keep tails and staged chunks in: S3 and Azure ".storagebridge-staging/", GCS and files ".staging".
    private static readonly string[] ReservedSegments = [".storagebridge-staging", ".staging"];

    /// <summary>Why <paramref name="key"/> cannot be used below <paramref name="prefix"/>, or null when it can.</summary>
    public static string? Problem(string prefix, string key)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            return "the key is empty";
        }

        if (key[0] == '/')
        {
            return "the key starts with '/'";
        }

        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (char.IsControl(c) || c == '\\')
            {
                return "the key contains a control character or a backslash";
            }

            if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < key.Length && char.IsLowSurrogate(key[++i])))
            {
                return "the key is not valid UTF-16 (an unpaired surrogate)";
            }
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment is "." or "..")
            {
                return "the key has a '.' or '..' segment";
            }

            if (ReservedSegments.Any(reserved => segment.StartsWith(reserved, StringComparison.OrdinalIgnoreCase)))
            {
                return "the key names a staging folder the backends reserve";
            }
        }

        if (Encoding.UTF8.GetByteCount(prefix) + Encoding.UTF8.GetByteCount(key) > MaxKeyBytes)
        {
            return $"the key is longer than {MaxKeyBytes} UTF-8 bytes with the target's prefix";
        }

        return null;
    }
}
