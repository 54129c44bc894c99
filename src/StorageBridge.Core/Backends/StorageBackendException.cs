namespace StorageBridge.Backends;

/// <summary>
/// A storage backend or metadata store call failed, classified once where the provider's error is understood.
/// <see cref="IsTransient"/> failures (outages, throttling, timeouts, dropped connections) may succeed when repeated
/// later: front-ends answer 503 with Retry-After. Permanent ones (access denied, missing bucket or container, bad
/// credentials) will fail the same way until someone changes the configuration: front-ends answer 502 and log an error.
/// </summary>
/// <remarks>
/// The special outcomes keep their own types (<see cref="ObjectExistsException"/>, <see cref="UploadSessionGoneException"/>,
/// <see cref="FileNotFoundException"/> for missing objects, <see cref="OperationCanceledException"/>); they are never
/// wrapped in this one. The provider's own exception is the <see cref="Exception.InnerException"/>.
/// </remarks>
public sealed class StorageBackendException : Exception
{
    public StorageBackendException()
        : this("A storage call failed.")
    {
    }

    public StorageBackendException(string message)
        : base(message)
    {
        Backend = "";
    }

    public StorageBackendException(string message, Exception innerException)
        : base(message, innerException)
    {
        Backend = "";
    }

    /// <param name="backend">What failed: the provider and the resource, e.g. "S3 bucket uploads" (never a credential).</param>
    /// <param name="isTransient">True when repeating the call later may succeed.</param>
    /// <param name="statusCode">The provider's HTTP status (or its own code for non-HTTP stores), if any.</param>
    /// <param name="errorCode">The provider's error code (e.g. "AccessDenied", "SQLITE_BUSY"), if any.</param>
    /// <param name="innerException">The provider's exception.</param>
    public StorageBackendException(string backend, bool isTransient, int? statusCode, string? errorCode, Exception innerException)
        : base(Describe(backend, isTransient, statusCode, errorCode), innerException)
    {
        Backend = backend;
        IsTransient = isTransient;
        StatusCode = statusCode;
        ErrorCode = errorCode;
    }

    /// <summary>The provider and resource that failed, e.g. "S3 bucket uploads"; safe to show to clients.</summary>
    public string Backend { get; }

    /// <summary>True when repeating the call later may succeed (outage, throttling, timeout, dropped connection).</summary>
    public bool IsTransient { get; }

    /// <summary>The provider's HTTP status, if it answered.</summary>
    public int? StatusCode { get; }

    /// <summary>The provider's error code, if it gave one.</summary>
    public string? ErrorCode { get; }

    /// <summary>True for exceptions that mean "the network or the service did not answer in time" wherever they come from.</summary>
    public static bool IsNetworkFailure(Exception exception) => exception switch
    {
        HttpRequestException or TimeoutException or System.Net.Sockets.SocketException => true,
        // Missing files and folders are answers, not network trouble; the engine relies on FileNotFoundException.
        FileNotFoundException or DirectoryNotFoundException => false,
        IOException => true,
        _ => false,
    };

    /// <summary>
    /// True when the HTTP status means "try again later": 408 Request Timeout, 429 Too Many Requests, and 5xx except
    /// 501 Not Implemented and 505 HTTP Version Not Supported (those never change on their own).
    /// </summary>
    public static bool IsTransientStatus(int status) =>
        status is 408 or 429 || (status >= 500 && status != 501 && status != 505);

    private static string Describe(string backend, bool isTransient, int? statusCode, string? errorCode)
    {
        var what = (statusCode, errorCode) switch
        {
            (int s, string c) => $"{c} ({s})",
            (int s, null) => $"status {s}",
            (null, string c) => c,
            _ => "no answer",
        };
        return isTransient
            ? $"{backend} is unavailable: {what}; the call may succeed later."
            : $"{backend} refused the call: {what}.";
    }
}
