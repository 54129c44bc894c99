using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace StorageBridge.Configuration;

/// <summary>Typed reads of configuration values that fail with the offending key named.</summary>
public static class ConfigurationValues
{
    private static readonly (string Suffix, long Factor)[] Units =
    [
        ("TiB", 1L << 40), ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("kB", 1_000), ("B", 1),
    ];

    /// <summary>A byte size: a plain number of bytes, or a number with a unit (16MiB, 4.5MB, 1GiB).</summary>
    public static long? GetSize(IConfigurationSection section, string name)
    {
        ArgumentNullException.ThrowIfNull(section);
        var raw = section[name];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return null;
        }

        if (TryParseSize(raw.Trim(), out var size) && size >= 0)
        {
            return size;
        }

        throw new StorageBridgeConfigurationException(Key(section, name), $"'{raw}' is not a size; use bytes (1048576) or a unit (16MiB, 4.5MB, 1GiB).");
    }

    public static bool TryParseSize(string text, out long size)
    {
        ArgumentNullException.ThrowIfNull(text);
        size = 0;
        var factor = 1L;
        foreach (var (suffix, unitFactor) in Units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                factor = unitFactor;
                text = text[..^suffix.Length].TrimEnd();
                break;
            }
        }

        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        // Compare before multiplying: a huge number times a unit overflows decimal itself.
        if (number > long.MaxValue / (decimal)factor)
        {
            return false;
        }

        var bytes = number * factor;
        if (bytes > long.MaxValue || bytes != decimal.Truncate(bytes))
        {
            return false;
        }

        size = (long)bytes;
        return true;
    }

    /// <summary>A duration: TimeSpan syntax (1.00:00:00), a number with s/m/h/d, or "none"/"0" for no limit.</summary>
    public static TimeSpan? GetDuration(IConfigurationSection section, string name, TimeSpan? defaultValue)
    {
        ArgumentNullException.ThrowIfNull(section);
        var raw = section[name]?.Trim();
        if (string.IsNullOrEmpty(raw))
        {
            return defaultValue;
        }

        if (raw is "0" || raw.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (raw.Length > 1 && double.TryParse(raw[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount) && amount > 0)
        {
            TimeSpan? parsed = raw[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
            if (parsed is not null)
            {
                return parsed;
            }
        }

        if (TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero)
        {
            return span;
        }

        throw new StorageBridgeConfigurationException(Key(section, name), $"'{raw}' is not a duration; use 1.00:00:00, 30m, 12h, 7d, or none.");
    }

    public static bool GetBool(IConfigurationSection section, string name, bool defaultValue)
    {
        ArgumentNullException.ThrowIfNull(section);
        var raw = section[name];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return defaultValue;
        }

        return bool.TryParse(raw.Trim(), out var value)
            ? value
            : throw new StorageBridgeConfigurationException(Key(section, name), $"'{raw}' is not true or false.");
    }

    public static string Key(IConfigurationSection section, string name)
    {
        ArgumentNullException.ThrowIfNull(section);
        return $"{section.Path}:{name}";
    }
}
