namespace StorageBridge.AspNetCore.Http;

/// <summary>
/// The content type an upload keeps for its object, which every download sends back as a response header. Kestrel
/// refuses a response header with control or non-ASCII characters, so such a value is refused at creation; a value
/// stored before that check existed is replaced by <see cref="Fallback"/> on download instead of failing it.
/// </summary>
internal static class StoredContentType
{
    public const string Fallback = "application/octet-stream";

    public const string RefusalMessage = "The content type must be printable ASCII (no control or non-ASCII characters).";

    /// <summary>True when <paramref name="value"/> is absent or only printable ASCII (0x20-0x7E).</summary>
    public static bool IsStorable(string? value) => value is null || value.AsSpan().IndexOfAnyExceptInRange(' ', '~') < 0;

    /// <summary>The Content-Type a download answers with for the <paramref name="stored"/> value.</summary>
    public static string ForResponse(string? stored) => stored is { Length: > 0 } && IsStorable(stored) ? stored : Fallback;
}
