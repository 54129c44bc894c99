using System.ComponentModel;
using System.Globalization;

namespace StorageBridge.Configuration;

/// <summary>
/// A duration as configuration writes it: TimeSpan syntax (1.00:00:00), a number with s/m/h/d (30m, 7d), or
/// "none"/"0" for no limit (<see cref="None"/>). Binds from strings through its TypeConverter.
/// </summary>
[TypeConverter(typeof(DurationConverter))]
public readonly record struct Duration
{
    public const string Hint = "use 1.00:00:00, 30m, 12h, 7d, or none.";

    private Duration(TimeSpan? value) => Value = value;

    /// <summary>No limit ("none" or "0").</summary>
    public static Duration None => default;

    /// <summary>The span, or null for <see cref="None"/>.</summary>
    public TimeSpan? Value { get; }

    public bool IsNone => Value is null;

    public static Duration From(TimeSpan value) =>
        value > TimeSpan.Zero ? new Duration(value) : throw new ArgumentOutOfRangeException(nameof(value), value, "A duration is positive; use Duration.None for no limit.");

    public static implicit operator Duration(TimeSpan value) => From(value);

    public static Duration FromTimeSpan(TimeSpan value) => From(value);

    public static Duration Parse(string text) =>
        TryParse(text, out var duration) ? duration : throw new FormatException($"'{text}' is not a duration; {Hint}");

    public static bool TryParse(string? text, out Duration duration)
    {
        duration = None;
        var raw = text?.Trim();
        if (string.IsNullOrEmpty(raw))
        {
            return false;
        }

        if (raw is "0" || raw.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return true;
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
                duration = new Duration(parsed);
                return true;
            }
        }

        if (TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero)
        {
            duration = new Duration(span);
            return true;
        }

        return false;
    }

    public override string ToString() => Value?.ToString("c", CultureInfo.InvariantCulture) ?? "none";
}

/// <summary>Converts configuration strings ("30m", "7d", "none", "1.00:00:00") to <see cref="Duration"/>.</summary>
public sealed class DurationConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) =>
        sourceType == typeof(string) || sourceType == typeof(TimeSpan) || base.CanConvertFrom(context, sourceType);

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) => value switch
    {
        // Blank (an empty environment variable): unset, as if the key were missing.
        string text when string.IsNullOrWhiteSpace(text) => null,
        string text => Duration.Parse(text),
        TimeSpan span => Duration.From(span),
        _ => base.ConvertFrom(context, culture, value),
    };

    public override bool CanConvertTo(ITypeDescriptorContext? context, Type? destinationType) =>
        destinationType == typeof(string) || base.CanConvertTo(context, destinationType);

    public override object? ConvertTo(ITypeDescriptorContext? context, CultureInfo? culture, object? value, Type destinationType) =>
        value is Duration duration && destinationType == typeof(string) ? duration.ToString() : base.ConvertTo(context, culture, value, destinationType);
}
