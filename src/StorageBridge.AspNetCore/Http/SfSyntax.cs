namespace StorageBridge.AspNetCore.Http;

/// <summary>RFC 9651 character classes and validity checks shared by the parser, the writer and the model.</summary>
internal static class SfSyntax
{
    private const byte KeyStart = 1;      // lcalpha / "*"
    private const byte KeyChar = 2;       // lcalpha / DIGIT / "_" / "-" / "." / "*"
    private const byte TokenStart = 4;    // ALPHA / "*"
    private const byte TokenChar = 8;     // tchar / ":" / "/"
    private const byte Base64Char = 16;   // ALPHA / DIGIT / "+" / "/" / "="

    private static readonly byte[] Classes = BuildClasses();

    private static readonly sbyte[] Base64Values = BuildBase64Values();

    public static bool IsDigit(char c) => (uint)(c - '0') <= 9;

    public static bool IsKeyStart(char c) => c < 128 && (Classes[c] & KeyStart) != 0;

    public static bool IsKeyChar(char c) => c < 128 && (Classes[c] & KeyChar) != 0;

    public static bool IsTokenStart(char c) => c < 128 && (Classes[c] & TokenStart) != 0;

    public static bool IsTokenChar(char c) => c < 128 && (Classes[c] & TokenChar) != 0;

    public static bool IsBase64Char(char c) => c < 128 && (Classes[c] & Base64Char) != 0;

    public static bool IsValidKey(ReadOnlySpan<char> key)
    {
        if (key.IsEmpty || !IsKeyStart(key[0]))
        {
            return false;
        }

        foreach (var c in key[1..])
        {
            if (!IsKeyChar(c))
            {
                return false;
            }
        }

        return true;
    }

    public static void ThrowIfInvalidKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!IsValidKey(key))
        {
            throw new ArgumentException($"'{key}' is not a valid RFC 9651 key (lcalpha or '*', then lcalpha, DIGIT, '_', '-', '.', '*').", nameof(key));
        }
    }

    public static bool IsValidToken(ReadOnlySpan<char> token)
    {
        if (token.IsEmpty || !IsTokenStart(token[0]))
        {
            return false;
        }

        foreach (var c in token[1..])
        {
            if (!IsTokenChar(c))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidString(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (c is < (char)0x20 or > (char)0x7E)
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsWellFormedUtf16(ReadOnlySpan<char> value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Decodes RFC 4648 base64 the way RFC 9651 section 4.2.7 asks: characters must already be validated as
    /// ALPHA / DIGIT / "+" / "/" / "="; missing "=" padding and non-zero pad bits are accepted (SHOULD NOT fail),
    /// but "=" anywhere except at the end, more than two of them, padding that does not complete a quantum, or a
    /// dangling single character fail.
    /// </summary>
    public static bool TryDecodeBase64(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        var pad = 0;
        while (pad < text.Length && text[text.Length - 1 - pad] == '=')
        {
            pad++;
        }

        if (pad > 2 || (pad > 0 && text.Length % 4 != 0))
        {
            return false;
        }

        var data = text[..^pad];
        if (data.Length % 4 == 1)
        {
            return false;
        }

        if (data.IsEmpty)
        {
            return true;
        }

        var output = new byte[data.Length / 4 * 3 + (data.Length % 4 == 0 ? 0 : data.Length % 4 - 1)];
        var o = 0;
        var i = 0;
        for (; i + 4 <= data.Length; i += 4)
        {
            int a = Value(data[i]), b = Value(data[i + 1]), c = Value(data[i + 2]), d = Value(data[i + 3]);
            if ((a | b | c | d) < 0)
            {
                return false;
            }

            var v = (a << 18) | (b << 12) | (c << 6) | d;
            output[o++] = (byte)(v >> 16);
            output[o++] = (byte)(v >> 8);
            output[o++] = (byte)v;
        }

        var rest = data.Length - i;
        if (rest >= 2)
        {
            int a = Value(data[i]), b = Value(data[i + 1]);
            int c = rest == 3 ? Value(data[i + 2]) : 0;
            if ((a | b | c) < 0)
            {
                return false;
            }

            var v = (a << 18) | (b << 12) | (c << 6);
            output[o++] = (byte)(v >> 16);
            if (rest == 3)
            {
                output[o++] = (byte)(v >> 8);
            }
        }

        bytes = output;
        return true;

        static int Value(char c) => c < 128 ? Base64Values[c] : -1;
    }

    private static byte[] BuildClasses()
    {
        var t = new byte[128];
        for (var c = 'a'; c <= 'z'; c++)
        {
            t[c] |= KeyStart | KeyChar | TokenStart | TokenChar | Base64Char;
        }

        for (var c = 'A'; c <= 'Z'; c++)
        {
            t[c] |= TokenStart | TokenChar | Base64Char;
        }

        for (var c = '0'; c <= '9'; c++)
        {
            t[c] |= KeyChar | TokenChar | Base64Char;
        }

        t['*'] |= KeyStart | KeyChar | TokenStart | TokenChar;
        foreach (var c in "_-.")
        {
            t[c] |= KeyChar;
        }

        // tchar (RFC 9110) plus ":" and "/".
        foreach (var c in "!#$%&'*+-.^_`|~:/")
        {
            t[c] |= TokenChar;
        }

        foreach (var c in "+/=")
        {
            t[c] |= Base64Char;
        }

        return t;
    }

    private static sbyte[] BuildBase64Values()
    {
        var t = new sbyte[128];
        Array.Fill(t, (sbyte)-1);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (var i = 0; i < alphabet.Length; i++)
        {
            t[alphabet[i]] = (sbyte)i;
        }

        return t;
    }
}
