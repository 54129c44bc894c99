using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace StorageBridge.Hooks;

/// <summary>
/// The signature header of StorageBridge's webhooks: <c>StorageBridge-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</c>,
/// where v1 is HMAC-SHA256 with the shared secret (UTF-8) over <c>"{t}." + body</c>. A receiver recomputes it, compares
/// in constant time and refuses a timestamp far from its clock (replays).
/// </summary>
public static class WebhookSignature
{
    public const string HeaderName = "StorageBridge-Signature";

    /// <summary>Shortest secret accepted (characters).</summary>
    public const int MinSecretLength = 32;

    public static string Create(string secret, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var t = timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return "t=" + t + ",v1=" + Convert.ToHexStringLower(Compute(secret, t, body));
    }

    /// <summary>Whether <paramref name="header"/> signs <paramref name="body"/> with <paramref name="secret"/> at a time within <paramref name="tolerance"/> of <paramref name="now"/>.</summary>
    public static bool Verify(string secret, string? header, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        string? t = null;
        string? v1 = null;
        foreach (var part in (header ?? "").Split(','))
        {
            var pair = part.Trim();
            if (pair.StartsWith("t=", StringComparison.Ordinal))
            {
                t = pair[2..];
            }
            else if (pair.StartsWith("v1=", StringComparison.Ordinal))
            {
                v1 = pair[3..];
            }
        }

        if (t is null || v1 is null || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(now.ToUnixTimeSeconds() - seconds) > tolerance.TotalSeconds)
        {
            return false;
        }

        byte[] given;
        try
        {
            given = Convert.FromHexString(v1);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(given, Compute(secret, t, body));
    }

    private static byte[] Compute(string secret, string t, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(t + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
    }
}
