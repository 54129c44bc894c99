using System.Security.Cryptography;

namespace StorageBridge.Uploads;

/// <summary>Upload ids: 128 random bits as 32 lowercase hex characters (safe in URLs, object keys and file names).</summary>
public static class UploadIds
{
    public const int Length = 32;

    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static bool IsWellFormed(string? value) =>
        value is { Length: Length } && value.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;
}
