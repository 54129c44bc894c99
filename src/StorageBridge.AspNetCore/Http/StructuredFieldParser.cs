using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace StorageBridge.AspNetCore.Http;

/// <summary>
/// Strict RFC 9651 parser, a direct transcription of the algorithms in RFC 9651 section 4.2.
/// <list type="bullet">
/// <item>Any non-ASCII character fails; leading and trailing SP (not HTAB) around the whole field are discarded;
/// OWS (SP / HTAB) is allowed only around List and Dictionary commas.</item>
/// <item>Any failure makes the whole field invalid: every method returns false and never throws on hostile input.</item>
/// <item>A <c>null</c> field (absent) is invalid for every type; an empty field is invalid for an Item and is an
/// empty List / Dictionary.</item>
/// <item>Multiple field lines must be joined with "," (RFC 9110 section 5.3) before parsing; the
/// <see cref="StringValues"/> overloads do that. An Item sent on several lines is therefore invalid.</item>
/// <item>All bare item types of RFC 9651 are accepted, including Date and Display String.</item>
/// <item>Byte Sequences: missing "=" padding and non-zero pad bits are accepted, as section 4.2.7 recommends.</item>
/// </list>
/// </summary>
internal static class StructuredFieldParser
{
    /// <summary>Parses an Item field (e.g. <c>?1</c>, <c>42</c>, <c>"text";p=1</c>).</summary>
    public static bool TryParseItem(string? field, out SfItem item)
    {
        if (field is null)
        {
            item = default;
            return false;
        }

        return TryParseItem(field.AsSpan(), out item);
    }

    private static bool TryParseItem(ReadOnlySpan<char> field, out SfItem item)
    {
        item = default;
        if (!Begin(field, out var pos))
        {
            return false;
        }

        if (!ParseItem(field, ref pos, out var parsed) || !End(field, pos))
        {
            return false;
        }

        item = parsed;
        return true;
    }

    /// <summary>Parses an Item field given as all of its field lines (joined with ", " per RFC 9110).</summary>
    public static bool TryParseItem(StringValues lines, out SfItem item) => TryParseItem(JoinLines(lines), out item);

    /// <summary>All field lines as one field value (RFC 9110 5.3); null when the field is absent.</summary>
    private static string? JoinLines(StringValues lines) => lines.Count switch
    {
        0 => null,
        1 => lines[0],
        _ => string.Join(", ", lines.ToArray()),
    };

    /// <summary>Parses a Dictionary field. An empty field is an empty dictionary.</summary>
    public static bool TryParseDictionary(string? field, [NotNullWhen(true)] out SfDictionary? dictionary)
    {
        if (field is null)
        {
            dictionary = null;
            return false;
        }

        return TryParseDictionary(field.AsSpan(), out dictionary);
    }

    private static bool TryParseDictionary(ReadOnlySpan<char> field, [NotNullWhen(true)] out SfDictionary? dictionary)
    {
        dictionary = null;
        if (!Begin(field, out var pos))
        {
            return false;
        }

        if (!ParseDictionary(field, ref pos, out var parsed) || !End(field, pos))
        {
            return false;
        }

        dictionary = parsed;
        return true;
    }

    /// <summary>Parses an Item field whose bare item must be a Boolean (<c>?0</c> / <c>?1</c>); parameters are ignored.</summary>
    public static bool TryParseBoolean(string? field, out bool value)
    {
        if (TryParseItem(field, out var item) && item.Value.TryGetBoolean(out value))
        {
            return true;
        }

        value = false;
        return false;
    }

    public static bool TryParseBoolean(StringValues lines, out bool value)
    {
        if (TryParseItem(lines, out var item) && item.Value.TryGetBoolean(out value))
        {
            return true;
        }

        value = false;
        return false;
    }

    /// <summary>Parses an Item field whose bare item must be an Integer; parameters are ignored. Negative values are returned as such.</summary>
    public static bool TryParseInteger(string? field, out long value)
    {
        if (TryParseItem(field, out var item) && item.Value.TryGetInteger(out value))
        {
            return true;
        }

        value = 0;
        return false;
    }

    public static bool TryParseInteger(StringValues lines, out long value)
    {
        if (TryParseItem(lines, out var item) && item.Value.TryGetInteger(out value))
        {
            return true;
        }

        value = 0;
        return false;
    }

    // --- RFC 9651 section 4.2: top level -------------------------------------------------------------

    private static bool Begin(ReadOnlySpan<char> s, out int pos)
    {
        pos = 0;
        if (!Ascii.IsValid(s))
        {
            return false;
        }

        SkipSp(s, ref pos);
        return true;
    }

    private static bool End(ReadOnlySpan<char> s, int pos)
    {
        SkipSp(s, ref pos);
        return pos == s.Length;
    }

    private static void SkipSp(ReadOnlySpan<char> s, ref int pos)
    {
        while (pos < s.Length && s[pos] == ' ')
        {
            pos++;
        }
    }

    private static void SkipOws(ReadOnlySpan<char> s, ref int pos)
    {
        while (pos < s.Length && s[pos] is ' ' or '\t')
        {
            pos++;
        }
    }

    // --- 4.2.1 List members (Dictionary values may be inner lists) ---------------------------------------

    private static bool ParseItemOrInnerList(ReadOnlySpan<char> s, ref int pos, out SfMember member)
    {
        member = default;
        if (pos < s.Length && s[pos] == '(')
        {
            if (!ParseInnerList(s, ref pos, out var inner))
            {
                return false;
            }

            member = new SfMember(inner);
            return true;
        }

        if (!ParseItem(s, ref pos, out var item))
        {
            return false;
        }

        member = new SfMember(item);
        return true;
    }

    // --- 4.2.1.2 Inner List --------------------------------------------------------------------------

    private static bool ParseInnerList(ReadOnlySpan<char> s, ref int pos, [NotNullWhen(true)] out SfInnerList? innerList)
    {
        innerList = null;
        pos++; // "("
        List<SfItem>? items = null;
        while (pos < s.Length)
        {
            SkipSp(s, ref pos);
            if (pos < s.Length && s[pos] == ')')
            {
                pos++;
                if (!ParseParameters(s, ref pos, out var parameters))
                {
                    return false;
                }

                innerList = new SfInnerList(items is null ? [] : [.. items], parameters);
                return true;
            }

            if (!ParseItem(s, ref pos, out var item))
            {
                return false;
            }

            (items ??= []).Add(item);
            if (pos >= s.Length || (s[pos] != ' ' && s[pos] != ')'))
            {
                return false;
            }
        }

        return false; // no closing ")"
    }

    // --- 4.2.2 Dictionary ----------------------------------------------------------------------------

    private static bool ParseDictionary(ReadOnlySpan<char> s, ref int pos, [NotNullWhen(true)] out SfDictionary? dictionary)
    {
        dictionary = null;
        OrderedMapBuilder<SfMember>? builder = null;
        while (pos < s.Length)
        {
            if (!ParseKey(s, ref pos, out var key))
            {
                return false;
            }

            SfMember member;
            if (pos < s.Length && s[pos] == '=')
            {
                pos++;
                if (!ParseItemOrInnerList(s, ref pos, out member))
                {
                    return false;
                }
            }
            else
            {
                if (!ParseParameters(s, ref pos, out var parameters))
                {
                    return false;
                }

                member = new SfMember(new SfItem(SfBareItem.FromBoolean(true), parameters));
            }

            (builder ??= new()).Set(key, member);
            SkipOws(s, ref pos);
            if (pos >= s.Length)
            {
                break;
            }

            if (s[pos] != ',')
            {
                return false;
            }

            pos++;
            SkipOws(s, ref pos);
            if (pos >= s.Length)
            {
                return false; // trailing comma
            }
        }

        dictionary = builder is null ? SfDictionary.Empty : new SfDictionary(builder.Build());
        return true;
    }

    // --- 4.2.3 Item, 4.2.3.1 Bare Item, 4.2.3.2 Parameters, 4.2.3.3 Key --------------------------------

    private static bool ParseItem(ReadOnlySpan<char> s, ref int pos, out SfItem item)
    {
        item = default;
        if (!ParseBareItem(s, ref pos, out var bare) || !ParseParameters(s, ref pos, out var parameters))
        {
            return false;
        }

        item = new SfItem(bare, parameters);
        return true;
    }

    private static bool ParseBareItem(ReadOnlySpan<char> s, ref int pos, out SfBareItem item)
    {
        item = default;
        if (pos >= s.Length)
        {
            return false;
        }

        var c = s[pos];
        if (c == '-' || SfSyntax.IsDigit(c))
        {
            return ParseNumber(s, ref pos, out item);
        }

        if (SfSyntax.IsTokenStart(c))
        {
            return ParseToken(s, ref pos, out item);
        }

        return c switch
        {
            '"' => ParseString(s, ref pos, out item),
            ':' => ParseByteSequence(s, ref pos, out item),
            '?' => ParseBoolean(s, ref pos, out item),
            '@' => ParseDate(s, ref pos, out item),
            '%' => ParseDisplayString(s, ref pos, out item),
            _ => false,
        };
    }

    private static bool ParseParameters(ReadOnlySpan<char> s, ref int pos, out SfParameters parameters)
    {
        parameters = SfParameters.Empty;
        OrderedMapBuilder<SfBareItem>? builder = null;
        while (pos < s.Length && s[pos] == ';')
        {
            pos++;
            SkipSp(s, ref pos);
            if (!ParseKey(s, ref pos, out var key))
            {
                return false;
            }

            var value = SfBareItem.FromBoolean(true);
            if (pos < s.Length && s[pos] == '=')
            {
                pos++;
                if (!ParseBareItem(s, ref pos, out value))
                {
                    return false;
                }
            }

            (builder ??= new()).Set(key, value);
        }

        if (builder is not null)
        {
            parameters = new SfParameters(builder.Build());
        }

        return true;
    }

    private static bool ParseKey(ReadOnlySpan<char> s, ref int pos, [NotNullWhen(true)] out string? key)
    {
        key = null;
        if (pos >= s.Length || !SfSyntax.IsKeyStart(s[pos]))
        {
            return false;
        }

        var start = pos++;
        while (pos < s.Length && SfSyntax.IsKeyChar(s[pos]))
        {
            pos++;
        }

        key = new string(s[start..pos]);
        return true;
    }

    // --- 4.2.4 Integer or Decimal --------------------------------------------------------------------

    private static bool ParseNumber(ReadOnlySpan<char> s, ref int pos, out SfBareItem item)
    {
        item = default;
        if (!ParseNumberCore(s, ref pos, out var isDecimal, out var value))
        {
            return false;
        }

        item = SfBareItem.Create(isDecimal ? SfItemType.Decimal : SfItemType.Integer, value, null);
        return true;
    }

    /// <summary>RFC 9651 section 4.2.4; a Decimal's value is returned in thousandths.</summary>
    private static bool ParseNumberCore(ReadOnlySpan<char> s, ref int pos, out bool isDecimal, out long value)
    {
        isDecimal = false;
        value = 0;
        var negative = false;
        if (pos < s.Length && s[pos] == '-')
        {
            negative = true;
            pos++;
        }

        if (pos >= s.Length || !SfSyntax.IsDigit(s[pos]))
        {
            return false;
        }

        long integer = 0, fraction = 0;
        int length = 0, fractionDigits = 0; // length = characters of input_number, including "."
        while (pos < s.Length)
        {
            var c = s[pos];
            if (SfSyntax.IsDigit(c))
            {
                if (isDecimal)
                {
                    fraction = fraction * 10 + (c - '0');
                    fractionDigits++;
                }
                else
                {
                    integer = integer * 10 + (c - '0');
                }
            }
            else if (!isDecimal && c == '.')
            {
                if (length > 12)
                {
                    return false;
                }

                isDecimal = true;
            }
            else
            {
                break;
            }

            pos++;
            length++;
            if (!isDecimal && length > 15)
            {
                return false;
            }

            if (isDecimal && length > 16)
            {
                return false;
            }
        }

        if (!isDecimal)
        {
            value = negative ? -integer : integer;
            return true;
        }

        if (fractionDigits is 0 or > 3)
        {
            return false;
        }

        for (var i = fractionDigits; i < 3; i++)
        {
            fraction *= 10;
        }

        value = integer * 1000 + fraction;
        if (negative)
        {
            value = -value;
        }

        return true;
    }

    // --- 4.2.5 String --------------------------------------------------------------------------------

    private static bool ParseString(ReadOnlySpan<char> s, ref int pos, out SfBareItem item)
    {
        item = default;
        var start = ++pos; // after DQUOTE
        var escapes = 0;
        while (pos < s.Length)
        {
            var c = s[pos++];
            if (c == '\\')
            {
                if (pos >= s.Length || s[pos] is not ('"' or '\\'))
                {
                    return false;
                }

                pos++;
                escapes++;
            }
            else if (c == '"')
            {
                var raw = s[start..(pos - 1)];
                var value = escapes == 0 ? new string(raw) : Unescape(raw, raw.Length - escapes);
                item = SfBareItem.Create(SfItemType.String, 0, value);
                return true;
            }
            else if (c is < (char)0x20 or > (char)0x7E)
            {
                return false;
            }
        }

        return false; // no closing DQUOTE
    }

    private static string Unescape(ReadOnlySpan<char> raw, int length)
    {
        Span<char> buffer = length <= 256 ? stackalloc char[length] : new char[length];
        var o = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c == '\\')
            {
                c = raw[++i];
            }

            buffer[o++] = c;
        }

        return new string(buffer[..o]);
    }

    // --- 4.2.6 Token ---------------------------------------------------------------------------------

    private static bool ParseToken(ReadOnlySpan<char> s, ref int pos, out SfBareItem item)
    {
        var start = pos++;
        while (pos < s.Length && SfSyntax.IsTokenChar(s[pos]))
        {
            pos++;
        }

        item = SfBareItem.Create(SfItemType.Token, 0, new string(s[start..pos]));
        return true;
    }

    // --- 4.2.7 Byte Sequence -------------------------------------------------------------------------

    private static bool ParseByteSequence(ReadOnlySpan<char> s, ref int pos, out SfBareItem item)
    {
        item = default;
        pos++; // ":"
        var length = s[pos..].IndexOf(':');
        if (length < 0)
        {
            return false;
        }

        var content = s.Slice(pos, length);
        pos += length + 1;
        foreach (var c in content)
        {
            if (!SfSyntax.IsBase64Char(c))
            {
                return false;
            }
        }

        if (!SfSyntax.TryDecodeBase64(content, out var bytes))
        {
            return false;
        }

        item = SfBareItem.Create(SfItemType.ByteSequence, 0, bytes);
        return true;
    }

    // --- 4.2.8 Boolean -------------------------------------------------------------------------------

    private static bool ParseBoolean(ReadOnlySpan<char> s, ref int pos, out SfBareItem item)
    {
        item = default;
        pos++; // "?"
        if (pos >= s.Length || s[pos] is not ('0' or '1'))
        {
            return false;
        }

        item = SfBareItem.Create(SfItemType.Boolean, s[pos] == '1' ? 1 : 0, null);
        pos++;
        return true;
    }

    // --- 4.2.9 Date ----------------------------------------------------------------------------------

    private static bool ParseDate(ReadOnlySpan<char> s, ref int pos, out SfBareItem item)
    {
        item = default;
        pos++; // "@"
        if (!ParseNumberCore(s, ref pos, out var isDecimal, out var value) || isDecimal)
        {
            return false;
        }

        item = SfBareItem.Create(SfItemType.Date, value, null);
        return true;
    }

    // --- 4.2.10 Display String -----------------------------------------------------------------------

    private static bool ParseDisplayString(ReadOnlySpan<char> s, ref int pos, out SfBareItem item)
    {
        item = default;
        pos++; // "%"
        if (pos >= s.Length || s[pos] != '"')
        {
            return false;
        }

        pos++;
        byte[]? rented = null;
        var max = s.Length - pos;
        Span<byte> bytes = max <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var n = 0;
            while (pos < s.Length)
            {
                var c = s[pos++];
                if (c is < (char)0x20 or > (char)0x7E)
                {
                    return false;
                }

                if (c == '%')
                {
                    if (pos + 2 > s.Length)
                    {
                        return false;
                    }

                    var hi = LowerHex(s[pos]);
                    var lo = LowerHex(s[pos + 1]);
                    if ((hi | lo) < 0)
                    {
                        return false;
                    }

                    pos += 2;
                    bytes[n++] = (byte)((hi << 4) | lo);
                }
                else if (c == '"')
                {
                    var utf8 = bytes[..n];
                    if (!System.Text.Unicode.Utf8.IsValid(utf8))
                    {
                        return false;
                    }

                    item = SfBareItem.Create(SfItemType.DisplayString, 0, Encoding.UTF8.GetString(utf8));
                    return true;
                }
                else
                {
                    bytes[n++] = (byte)c;
                }
            }

            return false; // no closing DQUOTE
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        static int LowerHex(char c) => c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            _ => -1,
        };
    }
}
