using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Limits;

/// <summary>
/// Bounds of a tus <c>Upload-Concat: final;...</c> header, checked before it is parsed or a source is looked up: at
/// most <c>MaxConcatSources</c> upload URLs, and the header at most <see cref="BytesPerSource"/> bytes per allowed
/// source (a full upload URL with scheme, host, prefix, target and id fits in far less).
/// </summary>
internal static class ConcatLimits
{
    public const int BytesPerSource = 256;

    /// <summary>The refusal, or null when the header is within the target's bounds.</summary>
    public static LimitRefusal? Check(string header, UploadTarget target)
    {
        var quotas = target.Options.Quotas;
        if (header.Length > (long)quotas.MaxConcatSources * BytesPerSource)
        {
            return new LimitRefusal(Microsoft.AspNetCore.Http.StatusCodes.Status400BadRequest, "Upload-Concat too large",
                $"Upload-Concat is longer than {(long)quotas.MaxConcatSources * BytesPerSource} bytes ({BytesPerSource} per source of MaxConcatSources {quotas.MaxConcatSources}); nothing was stored.");
        }

        return CountSources(header) > quotas.MaxConcatSources ? LimitAnswers.TooManySources(quotas) : null;
    }

    /// <summary>Space-separated URLs after "final;" (counted without parsing them).</summary>
    private static int CountSources(string header)
    {
        if (!header.StartsWith("final;", StringComparison.Ordinal))
        {
            return 0;
        }

        var urls = header.AsSpan("final;".Length);
        var count = 0;
        foreach (var range in urls.Split(' '))
        {
            if (!urls[range].IsWhiteSpace())
            {
                count++;
            }
        }

        return count;
    }
}
