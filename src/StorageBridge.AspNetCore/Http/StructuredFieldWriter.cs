using System.Globalization;
using System.Text;

namespace StorageBridge.AspNetCore.Http;

/// <summary>
/// RFC 9651 section 4.1 serializer. Inputs that cannot be serialized (out-of-range numbers, invalid keys,
/// non-printable String characters, invalid Tokens) are programming errors and throw
/// <see cref="ArgumentException"/> / <see cref="ArgumentOutOfRangeException"/>.
/// </summary>
internal static class StructuredFieldWriter
{
    /// <summary>Serializes an Integer, e.g. <c>-42</c>.</summary>
    public static string FormatInteger(long value)
    {
        if (value is < SfBareItem.MinInteger or > SfBareItem.MaxInteger)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "RFC 9651 Integers have at most 15 digits.");
        }

        return value.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Serializes a Boolean: <c>?1</c> or <c>?0</c>.</summary>
    public static string FormatBoolean(bool value) => value ? "?1" : "?0";

    /// <summary>Serializes a Byte Sequence: <c>:base64:</c> (padded base64).</summary>
    public static string FormatByteSequence(ReadOnlySpan<byte> value) => string.Concat(":", Convert.ToBase64String(value), ":");

    /// <summary>Serializes a Decimal (rounded half to even to three fractional digits).</summary>
    public static string FormatDecimal(decimal value) => Serialize(SfBareItem.FromDecimal(value));

    /// <summary>Serializes a String with <c>\"</c> and <c>\\</c> escapes.</summary>
    public static string FormatString(string value) => Serialize(SfBareItem.FromString(value));

    /// <summary>Serializes a Token after validating it.</summary>
    public static string FormatToken(string value) => Serialize(SfBareItem.FromToken(value));

    /// <summary>Serializes a Dictionary whose values are Integers, e.g. <c>min-size=0, max-size=1048576</c>.</summary>
    public static string FormatDictionary(IEnumerable<KeyValuePair<string, long>> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var sb = new StringBuilder();
        foreach (var (key, value) in members)
        {
            AppendIntegerMember(sb, key, value);
        }

        return sb.ToString();
    }

    /// <summary>Serializes a Dictionary whose values are Integers, e.g. <c>FormatDictionary(("min-size", 0), ("max-size", 1048576))</c>.</summary>
    public static string FormatDictionary(params ReadOnlySpan<(string Key, long Value)> members)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in members)
        {
            AppendIntegerMember(sb, key, value);
        }

        return sb.ToString();
    }

    public static string Serialize(SfBareItem item)
    {
        var sb = new StringBuilder();
        AppendBareItem(sb, item);
        return sb.ToString();
    }

    public static string Serialize(SfItem item)
    {
        var sb = new StringBuilder();
        AppendItem(sb, item);
        return sb.ToString();
    }

    public static string Serialize(SfMember member)
    {
        var sb = new StringBuilder();
        AppendMember(sb, member);
        return sb.ToString();
    }

    /// <summary>Serializes a List; an empty list gives "" (RFC 9651 says not to send the field at all).</summary>
    public static string Serialize(SfList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var sb = new StringBuilder();
        for (var i = 0; i < list.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            AppendMember(sb, list[i]);
        }

        return sb.ToString();
    }

    /// <summary>Serializes a Dictionary; Boolean true members are written as a bare key.</summary>
    public static string Serialize(SfDictionary dictionary)
    {
        ArgumentNullException.ThrowIfNull(dictionary);
        var sb = new StringBuilder();
        for (var i = 0; i < dictionary.Count; i++)
        {
            var (key, member) = dictionary[i];
            if (i > 0)
            {
                sb.Append(", ");
            }

            AppendKey(sb, key);
            if (!member.IsInnerList && member.Item.Value.Type == SfItemType.Boolean && member.Item.Value.RawNumber == 1)
            {
                AppendParameters(sb, member.Item.Parameters);
            }
            else
            {
                sb.Append('=');
                AppendMember(sb, member);
            }
        }

        return sb.ToString();
    }

    private static void AppendIntegerMember(StringBuilder sb, string key, long value)
    {
        if (value is < SfBareItem.MinInteger or > SfBareItem.MaxInteger)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, $"Value of '{key}' is not an RFC 9651 Integer.");
        }

        if (sb.Length > 0)
        {
            sb.Append(", ");
        }

        AppendKey(sb, key);
        sb.Append('=').Append(value);
    }

    private static void AppendMember(StringBuilder sb, SfMember member)
    {
        if (!member.TryGetInnerList(out var inner))
        {
            AppendItem(sb, member.Item);
            return;
        }

        sb.Append('(');
        for (var i = 0; i < inner.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(' ');
            }

            AppendItem(sb, inner[i]);
        }

        sb.Append(')');
        AppendParameters(sb, inner.Parameters);
    }

    private static void AppendItem(StringBuilder sb, SfItem item)
    {
        AppendBareItem(sb, item.Value);
        AppendParameters(sb, item.Parameters);
    }

    private static void AppendParameters(StringBuilder sb, SfParameters parameters)
    {
        foreach (var (key, value) in parameters)
        {
            sb.Append(';');
            AppendKey(sb, key);
            if (value.Type != SfItemType.Boolean || value.RawNumber != 1)
            {
                sb.Append('=');
                AppendBareItem(sb, value);
            }
        }
    }

    private static void AppendKey(StringBuilder sb, string key)
    {
        SfSyntax.ThrowIfInvalidKey(key);
        sb.Append(key);
    }

    private static void AppendBareItem(StringBuilder sb, SfBareItem item)
    {
        switch (item.Type)
        {
            case SfItemType.Integer:
                sb.Append(item.RawNumber);
                break;
            case SfItemType.Decimal:
                AppendDecimal(sb, item.RawNumber);
                break;
            case SfItemType.String:
                AppendString(sb, (string)item.RawReference!);
                break;
            case SfItemType.Token:
                sb.Append((string)item.RawReference!);
                break;
            case SfItemType.ByteSequence:
                sb.Append(':').Append(Convert.ToBase64String((byte[])item.RawReference!)).Append(':');
                break;
            case SfItemType.Boolean:
                sb.Append(item.RawNumber != 0 ? "?1" : "?0");
                break;
            case SfItemType.Date:
                sb.Append('@').Append(item.RawNumber);
                break;
            case SfItemType.DisplayString:
                AppendDisplayString(sb, (string)item.RawReference!);
                break;
            default:
                throw new ArgumentException("default(SfBareItem) cannot be serialized.", nameof(item));
        }
    }

    private static void AppendDecimal(StringBuilder sb, long thousandths)
    {
        if (thousandths < 0)
        {
            sb.Append('-');
            thousandths = -thousandths;
        }

        sb.Append(thousandths / 1000).Append('.');
        var fraction = thousandths % 1000;
        if (fraction == 0)
        {
            sb.Append('0');
            return;
        }

        var digits = 3;
        while (fraction % 10 == 0)
        {
            fraction /= 10;
            digits--;
        }

        sb.Append(fraction.ToString("D" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
    }

    private static void AppendString(StringBuilder sb, string value)
    {
        sb.Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        sb.Append('"');
    }

    private static void AppendDisplayString(StringBuilder sb, string value)
    {
        sb.Append("%\"");
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is (byte)'%' or (byte)'"' or < 0x20 or > 0x7E)
            {
                sb.Append('%').Append(b.ToString("x2", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append((char)b);
            }
        }

        sb.Append('"');
    }
}
