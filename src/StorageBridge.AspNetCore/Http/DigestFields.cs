using System.Diagnostics.CodeAnalysis;
using System.Text;
using StorageBridge.Coordination;

namespace StorageBridge.AspNetCore.Http;

/// <summary>
/// RFC 9530 integrity fields: <c>Content-Digest</c> / <c>Repr-Digest</c> (Dictionary of Byte Sequences keyed by
/// algorithm) and <c>Want-Content-Digest</c> / <c>Want-Repr-Digest</c> (Dictionary of Integer preferences 0..10).
/// <para>
/// Supported algorithms: <c>sha-256</c> and <c>sha-512</c> (the two "Active" entries of the IANA registry).
/// Everything else (md5, sha, unixsum, unixcksum, adler, crc32c, unknown names) is skipped by the parsers whatever its
/// value; a field that carries nothing else is refused by the callers (<see cref="AlgorithmsIn"/>).
/// A supported algorithm with the wrong value type, an Inner List, or the wrong digest length voids the whole field,
/// as does any RFC 9651 syntax error (for example an upper-case key).
/// </para>
/// <para>
/// A <c>null</c> field (header absent) is valid and carries nothing. Multiple field lines may be passed as
/// <c>string.Join(",", values)</c> or directly as <c>StringValues</c> (its implicit conversion joins with ",").
/// </para>
/// </summary>
internal static class DigestFields
{
    /// <summary>Highest preference value of Want-*-Digest.</summary>
    public const int MaxPreference = 10;

    private static readonly string[] StrengthOrder = [DigestValue.Sha512, DigestValue.Sha256];

    /// <summary>True for <c>sha-256</c> and <c>sha-512</c>.</summary>
    public static bool IsSupported(string? algorithm) => ExpectedLength(algorithm) > 0;

    /// <summary>Digest length in bytes of a supported algorithm (32 / 64), 0 otherwise.</summary>
    public static int ExpectedLength(string? algorithm) => algorithm switch
    {
        DigestValue.Sha256 => 32,
        DigestValue.Sha512 => 64,
        _ => 0,
    };

    /// <summary>
    /// Parses <c>Content-Digest</c> or <c>Repr-Digest</c>. On success <paramref name="digests"/> holds the supported
    /// digests, strongest first (possibly none). Returns false when the field is invalid (answer 400).
    /// </summary>
    public static bool TryParse(string? field, [NotNullWhen(true)] out IReadOnlyList<DigestValue>? digests)
    {
        digests = null;
        if (field is null)
        {
            digests = [];
            return true;
        }

        if (!StructuredFieldParser.TryParseDictionary(field, out var dictionary))
        {
            return false;
        }

        DigestValue? sha512 = null, sha256 = null;
        foreach (var (algorithm, member) in dictionary)
        {
            var expected = ExpectedLength(algorithm);
            if (expected == 0)
            {
                continue;
            }

            if (!member.TryGetItem(out var item) || !item.Value.TryGetByteSequence(out var bytes) || bytes.Length != expected)
            {
                return false;
            }

            var value = new DigestValue(algorithm == DigestValue.Sha256 ? DigestValue.Sha256 : DigestValue.Sha512, bytes);
            if (expected == 64)
            {
                sha512 = value;
            }
            else
            {
                sha256 = value;
            }
        }

        digests = (sha512, sha256) switch
        {
            (null, null) => [],
            (not null, null) => [sha512],
            (null, not null) => [sha256],
            _ => [sha512, sha256],
        };
        return true;
    }

    /// <summary>
    /// The algorithms named in a valid <c>Content-Digest</c> / <c>Repr-Digest</c> field, supported or not (empty for an
    /// absent, empty or invalid field). A field whose members are all algorithms the server cannot check is refused by
    /// the callers rather than ignored, so a client never believes a digest was verified when it was not.
    /// </summary>
    public static IReadOnlyList<string> AlgorithmsIn(string? field) =>
        field is not null && StructuredFieldParser.TryParseDictionary(field, out var dictionary)
            ? [.. dictionary.Select(member => member.Key)]
            : [];

    /// <summary>
    /// Parses <c>Content-Digest</c> or <c>Repr-Digest</c> and returns the strongest supported digest
    /// (sha-512 over sha-256), or null when the field is absent or carries no supported algorithm.
    /// Returns false when the field is invalid (answer 400).
    /// </summary>
    public static bool TryParseStrongest(string? field, out DigestValue? digest)
    {
        digest = null;
        if (!TryParse(field, out var digests))
        {
            return false;
        }

        digest = digests.Count > 0 ? digests[0] : null;
        return true;
    }

    /// <summary>
    /// Parses <c>Want-Repr-Digest</c> or <c>Want-Content-Digest</c>: the supported algorithms with their preference
    /// (1..10; algorithms given 0, "not acceptable", are left out), most preferred first, stronger first on ties.
    /// Returns false when the field is invalid: syntax error, or a supported algorithm whose value is not an Integer
    /// in 0..10.
    /// </summary>
    public static bool TryParseWant(string? field, [NotNullWhen(true)] out IReadOnlyList<KeyValuePair<string, int>>? preferences)
    {
        preferences = null;
        if (field is null)
        {
            preferences = [];
            return true;
        }

        if (!StructuredFieldParser.TryParseDictionary(field, out var dictionary))
        {
            return false;
        }

        int sha512 = 0, sha256 = 0;
        foreach (var (algorithm, member) in dictionary)
        {
            if (!IsSupported(algorithm))
            {
                continue;
            }

            if (!member.TryGetItem(out var item) || !item.Value.TryGetInteger(out var preference) || preference is < 0 or > MaxPreference)
            {
                return false;
            }

            if (algorithm == DigestValue.Sha512)
            {
                sha512 = (int)preference;
            }
            else
            {
                sha256 = (int)preference;
            }
        }

        var list = new List<KeyValuePair<string, int>>(2);
        if (sha512 > 0)
        {
            list.Add(new(DigestValue.Sha512, sha512));
        }

        if (sha256 > 0)
        {
            list.Add(new(DigestValue.Sha256, sha256));
        }

        if (list.Count == 2 && sha256 > sha512)
        {
            list.Reverse();
        }

        preferences = list;
        return true;
    }

    /// <summary>
    /// Picks the algorithm to answer a <c>Want-Repr-Digest</c> / <c>Want-Content-Digest</c> with: the highest
    /// preference among supported algorithms, sha-512 on a tie. <paramref name="algorithm"/> is null when the field is
    /// absent or nothing supported is acceptable. Returns false when the field is invalid.
    /// </summary>
    public static bool TrySelectWanted(string? field, out string? algorithm) =>
        TrySelectWanted(field, StrengthOrder, out algorithm);

    /// <summary>
    /// Like <see cref="TrySelectWanted(string?, out string?)"/>, but only considers the algorithms in
    /// <paramref name="available"/> (for example just <c>sha-256</c> when only a running SHA-256 is kept).
    /// </summary>
    public static bool TrySelectWanted(string? field, IReadOnlyCollection<string> available, out string? algorithm)
    {
        ArgumentNullException.ThrowIfNull(available);
        algorithm = null;
        if (!TryParseWant(field, out var preferences))
        {
            return false;
        }

        foreach (var (candidate, _) in preferences)
        {
            if (available.Contains(candidate))
            {
                algorithm = candidate;
                break;
            }
        }

        return true;
    }

    /// <summary>Formats one digest member: <c>sha-256=:BASE64:</c>.</summary>
    public static string Format(string algorithm, ReadOnlySpan<byte> digest)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        SfSyntax.ThrowIfInvalidKey(algorithm);
        return string.Concat(algorithm, "=:", Convert.ToBase64String(digest), ":");
    }
}
