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
    /// <summary>Serializes a Boolean: <c>?1</c> or <c>?0</c>.</summary>
    public static string FormatBoolean(bool value) => value ? "?1" : "?0";

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
