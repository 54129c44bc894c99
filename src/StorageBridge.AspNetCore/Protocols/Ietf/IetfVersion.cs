using Microsoft.AspNetCore.Http;
using StorageBridge.AspNetCore.Http;

namespace StorageBridge.AspNetCore.Protocols.Ietf;

/// <summary>
/// The draft interop version a request speaks (Upload-Draft-Interop-Version). Requests without it (or with an
/// unknown value) are served as the latest draft, but never get a 104: the draft forbids that.
/// </summary>
internal readonly record struct IetfVersion(int Number, bool Announced)
{
    public const string HeaderName = "Upload-Draft-Interop-Version";
    public const int Oldest = 3;
    public const int Latest = 8;

    public static IetfVersion From(HttpRequest request) =>
        HeaderValues.GetInteger(request, HeaderName) is long n and >= Oldest and <= Latest
            ? new IetfVersion((int)n, true)
            : new IetfVersion(Latest, false);

    /// <summary>Interop 3 (-01) says "Upload-Incomplete: ?1" for "more data follows".</summary>
    public bool UsesIncomplete => Number == 3;

    /// <summary>Appends must be <c>application/partial-upload</c> since interop 6 (-04).</summary>
    public bool RequiresPartialUploadType => Number >= 6;

    /// <summary>Upload-Limit exists since interop 6 (-04), with the expiry key named "expires" until -05.</summary>
    public bool HasUploadLimit => Number >= 6;

    public string MaxAgeKey => Number == 6 ? "expires" : "max-age";

    /// <summary>Up to -05 an upload that is no longer active answers 404; later drafts allow 410.</summary>
    public bool GoneAsNotFound => Number <= 5;

    /// <summary>-11 (interop 8): an empty append to a completed upload is 410; non-empty is an inconsistent length.</summary>
    public bool CompletedUploadIsGone => Number >= 8;

    /// <summary>104 progress responses (Upload-Offset while content streams) are sent to interop 8 (-09 added the 104 section).</summary>
    public bool SendsProgress => Number >= 8;

    public string CompleteHeader => UsesIncomplete ? "Upload-Incomplete" : "Upload-Complete";

    /// <summary>Reads the completion flag in this version's spelling; null when missing or not a structured boolean.</summary>
    public bool? ReadComplete(HttpRequest request)
    {
        var value = HeaderValues.GetBoolean(request, CompleteHeader);
        return UsesIncomplete ? !value : value;
    }

    public void WriteComplete(HttpResponse response, bool complete) =>
        response.Headers[CompleteHeader] = HeaderValues.FormatBoolean(UsesIncomplete ? !complete : complete);
}
