using System.ComponentModel;
using System.Globalization;

namespace StorageBridge.Configuration;

/// <summary>
/// A number of bytes as configuration writes it: plain bytes (1048576) or a number with a unit (16MiB, 4.5MB, 1GiB;
/// KiB/MiB/GiB/TiB are powers of 1024, kB/KB/MB/GB/TB powers of 1000). Binds from strings through its TypeConverter.
/// </summary>
[TypeConverter(typeof(ByteSizeConverter))]
public readonly record struct ByteSize(long Bytes) : IComparable<ByteSize>
{
    private static readonly (string Suffix, long Factor)[] Units =
    [
        ("TiB", 1L << 40), ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("kB", 1_000), ("B", 1),
    ];

    public const string Hint = "use bytes (1048576) or a unit (16MiB, 4.5MB, 1GiB).";

    public static ByteSize FromKibibytes(long value) => new(checked(value * 1024));

    public static ByteSize FromMebibytes(long value) => new(checked(value * 1024 * 1024));

    public static ByteSize FromGibibytes(long value) => new(checked(value * 1024 * 1024 * 1024));

    public static implicit operator ByteSize(long bytes) => new(bytes);

    public static ByteSize Parse(string text) =>
        TryParse(text, out var size) ? size : throw new FormatException($"'{text}' is not a size; {Hint}");

    /// <summary>Non-negative sizes only; surrounding spaces and a space before the unit are allowed.</summary>
    public static bool TryParse(string? text, out ByteSize size)
    {
        size = default;
        if (text is null)
        {
            return false;
        }

        text = text.Trim();
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

        size = new ByteSize((long)bytes);
        return true;
    }

    public int CompareTo(ByteSize other) => Bytes.CompareTo(other.Bytes);

    public static bool operator <(ByteSize left, ByteSize right) => left.Bytes < right.Bytes;

    public static bool operator >(ByteSize left, ByteSize right) => left.Bytes > right.Bytes;

    public static bool operator <=(ByteSize left, ByteSize right) => left.Bytes <= right.Bytes;

    public static bool operator >=(ByteSize left, ByteSize right) => left.Bytes >= right.Bytes;

    public long ToInt64() => Bytes;

    public static ByteSize FromInt64(long bytes) => new(bytes);

    public override string ToString() => Bytes.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Converts configuration strings ("16MiB", "4.5MB", "1048576") to <see cref="ByteSize"/>.</summary>
public sealed class ByteSizeConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) =>
        sourceType == typeof(string) || base.CanConvertFrom(context, sourceType);

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) => value switch
    {
        // Blank (an empty environment variable): unset, as if the key were missing.
        string text when string.IsNullOrWhiteSpace(text) => null,
        string text => ByteSize.Parse(text),
        _ => base.ConvertFrom(context, culture, value),
    };

    public override bool CanConvertTo(ITypeDescriptorContext? context, Type? destinationType) =>
        destinationType == typeof(string) || base.CanConvertTo(context, destinationType);

    public override object? ConvertTo(ITypeDescriptorContext? context, CultureInfo? culture, object? value, Type destinationType) =>
        value is ByteSize size && destinationType == typeof(string) ? size.ToString() : base.ConvertTo(context, culture, value, destinationType);
}
