namespace StorageBridge.Hooks;

/// <summary>A creation refused by a hook: the status and message the client receives.</summary>
/// <param name="Status">400–499, or 503 from <see cref="UploadCreationDecision.Unavailable"/> (with <paramref name="RetryAfter"/>).</param>
public sealed record UploadCreationRejection(int Status, string Message, TimeSpan? RetryAfter = null);

/// <summary>What an <see cref="IUploadCreationHook"/> answers: accept (optionally with an object key and metadata) or reject.</summary>
public sealed record UploadCreationDecision
{
    /// <summary>Longest message passed on to the client; longer ones are cut.</summary>
    public const int MaxMessageLength = 1000;

    private static readonly UploadCreationDecision Accepted = new();

    private UploadCreationDecision()
    {
    }

    /// <summary>Null when accepted.</summary>
    public UploadCreationRejection? Rejection { get; private init; }

    /// <summary>Object key relative to the target's <c>Prefix</c> (always prepended); null keeps the key chosen so far.</summary>
    public string? ObjectKey { get; private init; }

    /// <summary>Entries added to (or replacing those of) the upload's metadata; null changes nothing.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; private init; }

    public bool IsRejected => Rejection is not null;

    /// <summary>Create the upload as requested.</summary>
    public static UploadCreationDecision Accept() => Accepted;

    /// <summary>
    /// Create the upload under <paramref name="objectKey"/> (below the target's prefix: no leading '/', no '.' or '..'
    /// segments, no control characters, at most 1,024 UTF-8 bytes with the prefix, not in the backends' staging folders;
    /// an invalid key fails the creation with 500) and with <paramref name="metadata"/> merged over the client's.
    /// </summary>
    public static UploadCreationDecision Accept(string? objectKey, IReadOnlyDictionary<string, string>? metadata = null) =>
        new() { ObjectKey = objectKey, Metadata = metadata };

    /// <summary>Refuse the creation: <paramref name="status"/> (400–499) and <paramref name="message"/> go to the client.</summary>
    public static UploadCreationDecision Reject(int status, string message)
    {
        if (status is < 400 or > 499)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "A hook rejects with a 4xx status (Unavailable for 503).");
        }

        return new() { Rejection = new UploadCreationRejection(status, Trim(message)) };
    }

    /// <summary>Refuse the creation for now (what the hook depends on failed): 503 with Retry-After.</summary>
    public static UploadCreationDecision Unavailable(string message, TimeSpan retryAfter) =>
        new() { Rejection = new UploadCreationRejection(503, Trim(message), retryAfter) };

    private static string Trim(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Length <= MaxMessageLength ? message : message[..MaxMessageLength];
    }
}
