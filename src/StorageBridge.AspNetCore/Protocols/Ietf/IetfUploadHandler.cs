using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using StorageBridge.AspNetCore.Http;
using StorageBridge.AspNetCore.Interim;
using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Protocols.Ietf;

/// <summary>
/// The IETF "Resumable Uploads for HTTP" front-end (interop versions 3 to 8). It only parses and writes HTTP:
/// every decision about bytes, offsets and limits is the coordinator's.
/// </summary>
internal sealed partial class IetfUploadHandler
{
    public const string PartialUploadMediaType = "application/partial-upload";

    private static readonly string[] UploadFields = ["Upload-Offset", "Upload-Complete", "Upload-Incomplete", "Upload-Length"];

    private readonly UploadCoordinator _coordinator;
    private readonly TimeProvider _time;
    private readonly ILogger<IetfUploadHandler> _logger;

    public IetfUploadHandler(UploadCoordinator coordinator, TimeProvider time, ILogger<IetfUploadHandler> logger)
    {
        _coordinator = coordinator;
        _time = time;
        _logger = logger;
    }

    /// <summary>True when a request to the target URL is an IETF upload creation (it carries the draft's fields).</summary>
    public static bool IsIetfRequest(HttpRequest request) =>
        request.Headers.ContainsKey(IetfVersion.HeaderName)
        || request.Headers.ContainsKey("Upload-Complete")
        || request.Headers.ContainsKey("Upload-Incomplete");

    public async Task CreateAsync(HttpContext context, UploadTarget target)
    {
        var request = context.Request;
        var version = IetfVersion.From(request);
        var (complete, declaredLength, fieldError) = ReadCompletionFields(request, version);
        if (fieldError is not null)
        {
            await BadRequestAsync(context, version, fieldError);
            return;
        }

        var contentLength = request.ContentLength;
        if (complete && contentLength is long implied)
        {
            if (declaredLength is long declared && declared != implied)
            {
                await InconsistentLengthAsync(context, version, $"Upload-Length {declared} differs from the {implied} bytes of this complete upload.");
                return;
            }

            declaredLength = implied;
        }

        // Only sha-256 can be carried across requests (resumable hash state), so that member is the one checked.
        var (reprDigest, reprInvalid) = HeaderValues.GetDigest(request, "Repr-Digest", DigestValue.Sha256);
        var (contentDigest, contentInvalid) = HeaderValues.GetDigest(request, "Content-Digest");
        if (reprInvalid || contentInvalid)
        {
            await BadRequestAsync(context, version, "Repr-Digest / Content-Digest must be a dictionary of byte sequences of the algorithm's length, with a member this server checks (Content-Digest: sha-256 or sha-512; Repr-Digest: sha-256).");
            return;
        }

        if (contentLength is long length && target.Limits.MaxAppendSize is long maxAppend && length > maxAppend)
        {
            await TooLargeAsync(context, version, target, null, "The request content exceeds max-append-size.");
            return;
        }

        var (fileName, contentType, metadata) = ReadRepresentationMetadata(request);
        if (!StoredContentType.IsStorable(contentType))
        {
            await BadRequestAsync(context, version, StoredContentType.RefusalMessage);
            return;
        }

        var created = await _coordinator.CreateAsync(
            new CreateUploadRequest
            {
                Target = target.Name,
                Protocol = "ietf",
                Owner = Security.UploadPrincipals.OwnerOf(context),
                Principal = Security.UploadPrincipals.PrincipalOf(context),
                Length = declaredLength,
                ContentType = contentType,
                FileName = fileName,
                Metadata = metadata,
                ExpectedDigest = reprDigest,
                TrackSha256 = HeaderValues.WantsSha256(request, "Want-Repr-Digest"),
            },
            context.RequestAborted);
        if (created.Rejection is { } rejection)
        {
            WriteVersion(context, version);
            WriteErrorCompleteness(context, version, null);
            await AspNetCore.Hooks.CreationRejections.WriteProblemAsync(context, rejection);
            return;
        }

        if (Limits.LimitAnswers.For(created.Outcome, created.Limit, target) is { } refused)
        {
            WriteVersion(context, version);
            await Limits.LimitAnswers.WriteAsync(context, refused);
            return;
        }

        if (created.Outcome != UploadOutcome.Success)
        {
            await WriteFailureAsync(context, version, target, created.Outcome, null, created.Limit, null);
            return;
        }

        var upload = created.Upload!;
        var location = UploadHttp.Location(context, upload);
        if (version.Announced && target.Options.InterimResponses)
        {
            await SendResumptionSupportedAsync(context, version, target, upload, location);
        }

        var hasContent = contentLength is > 0 || (contentLength is null && request.Headers.TransferEncoding.Count > 0);
        // Only the client completes an upload (Upload-Complete: ?1), even one whose declared length is 0.
        if (hasContent || complete)
        {
            UploadHttp.DisableBodySizeLimit(context);
            var progress = hasContent ? ProgressStream(context, version, target, location) : null;
            var appended = await _coordinator.AppendAsync(
                new AppendRequest
                {
                    Target = target.Name,
                    Id = upload.Id,
                    Owner = upload.Owner,
                    AuthorizeCompletion = Security.UploadAuthorization.CompletionCheck(context),
                    Offset = 0,
                    Complete = complete,
                    ContentLength = contentLength,
                    ContentDigest = contentDigest,
                    IsCreation = true,
                    CompletesAtLength = false,
                    InvalidatesPastLength = true,
                    Progress = progress,
                },
                progress ?? request.Body,
                context.RequestAborted);
            if (appended.Outcome is not (UploadOutcome.Success or UploadOutcome.Interrupted))
            {
                context.Response.Headers.Location = location;
                await WriteFailureAsync(context, version, target, appended.Outcome, appended.Upload, appended.Limit, appended.ExpectedOffset);
                return;
            }

            upload = appended.Upload ?? upload;
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status201Created;
        response.Headers.Location = location;
        // Creation responses always announce the limits, even for an upload completed in one (possibly empty) request.
        WriteUploadState(context, version, target, upload, includeLimit: true);
        if (version.HasUploadLimit)
        {
            response.Headers["Upload-Limit"] = FormatLimits(target, version, upload);
        }
    }

    public async Task GetOffsetAsync(HttpContext context, UploadTarget target, string id)
    {
        var request = context.Request;
        var version = IetfVersion.From(request);
        if (UploadFields.Any(request.Headers.ContainsKey))
        {
            await BadRequestAsync(context, version, "Offset retrieval must not carry Upload-Offset, Upload-Complete or Upload-Length.");
            return;
        }

        var result = await _coordinator.GetAsync(target.Name, id, Security.UploadPrincipals.OwnerOf(context), context.RequestAborted);
        if (result.Outcome != UploadOutcome.Success)
        {
            await WriteFailureAsync(context, version, target, result.Outcome, result.Upload, LimitKind.None, null);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
        context.Response.Headers.CacheControl = "no-store";
        WriteUploadState(context, version, target, result.Upload!, includeLimit: true);
    }

    public async Task AppendAsync(HttpContext context, UploadTarget target, string id)
    {
        var request = context.Request;
        var version = IetfVersion.From(request);
        if (version.RequiresPartialUploadType && !IsMediaType(request.ContentType, PartialUploadMediaType))
        {
            context.Response.Headers["Accept-Patch"] = PartialUploadMediaType;
            WriteVersion(context, version);
            WriteErrorCompleteness(context, version, null);
            await ProblemResults.WriteAsync(
                context.Response, StatusCodes.Status415UnsupportedMediaType, "about:blank", "Unsupported Media Type",
                $"Appends use Content-Type: {PartialUploadMediaType}.");
            return;
        }

        if (HeaderValues.GetInteger(request, "Upload-Offset") is not long offset || offset < 0)
        {
            await BadRequestAsync(context, version, "Upload-Offset must be a non-negative structured integer.");
            return;
        }

        var (complete, declaredLength, fieldError) = ReadCompletionFields(request, version);
        if (fieldError is not null)
        {
            await BadRequestAsync(context, version, fieldError);
            return;
        }

        var (contentDigest, invalidDigest) = HeaderValues.GetDigest(request, "Content-Digest");
        if (invalidDigest)
        {
            await BadRequestAsync(context, version, "Content-Digest must be a dictionary of byte sequences of the algorithm's length, with a member this server checks (sha-256 or sha-512).");
            return;
        }

        UploadHttp.DisableBodySizeLimit(context);
        var hasContent = request.ContentLength is > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
        var progress = hasContent ? ProgressStream(context, version, target, location: null) : null;
        var result = await _coordinator.AppendAsync(
            new AppendRequest
            {
                Target = target.Name,
                Id = id,
                Owner = Security.UploadPrincipals.OwnerOf(context),
                AuthorizeCompletion = Security.UploadAuthorization.CompletionCheck(context),
                Offset = offset,
                Complete = complete,
                DeclaredLength = declaredLength,
                ContentLength = request.ContentLength,
                ContentDigest = contentDigest,
                CompletesAtLength = false,
                InvalidatesPastLength = true,
                Progress = progress,
            },
            progress ?? request.Body,
            context.RequestAborted);

        if (result.Outcome is not (UploadOutcome.Success or UploadOutcome.Interrupted))
        {
            await WriteFailureAsync(context, version, target, result.Outcome, result.Upload, result.Limit, result.ExpectedOffset);
            return;
        }

        var upload = result.Upload!;
        context.Response.StatusCode = upload.State == UploadState.Completed ? StatusCodes.Status200OK : StatusCodes.Status204NoContent;
        WriteUploadState(context, version, target, upload, includeLimit: false);
    }

    public async Task CancelAsync(HttpContext context, UploadTarget target, string id)
    {
        var version = IetfVersion.From(context.Request);
        var result = await _coordinator.CancelAsync(target.Name, id, Security.UploadPrincipals.OwnerOf(context), context.RequestAborted);
        if (result.Outcome != UploadOutcome.Success)
        {
            await WriteFailureAsync(context, version, target, result.Outcome, result.Upload, LimitKind.None, null);
            return;
        }

        WriteVersion(context, version);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>OPTIONS on the target or an upload: the limits, so clients can size their appends before they start.</summary>
    public void Options(HttpContext context, UploadTarget target)
    {
        var version = IetfVersion.From(context.Request);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status204NoContent;
        response.Headers["Upload-Limit"] = FormatLimits(target, version, null);
        response.Headers["Accept-Patch"] = PartialUploadMediaType;
        response.Headers.Allow = "POST, HEAD, GET, PATCH, DELETE, OPTIONS";
        WriteVersion(context, version);
    }

    private async Task SendResumptionSupportedAsync(HttpContext context, IetfVersion version, UploadTarget target, UploadRecord upload, string location)
    {
        var writer = InterimResponseWriter.TryCreate(context);
        if (writer is null)
        {
            return;
        }

        var headers = new List<KeyValuePair<string, string>>
        {
            new("Location", location),
            new(IetfVersion.HeaderName, version.Number.ToString(CultureInfo.InvariantCulture)),
        };
        if (version.HasUploadLimit)
        {
            headers.Add(new("Upload-Limit", FormatLimits(target, version, upload)));
        }

        var sent = await writer.TrySendAsync(104, "Upload Resumption Supported", headers, context.RequestAborted);
        if (!sent)
        {
            Log.InterimNotSent(_logger, upload.Id);
        }
    }

    /// <summary>
    /// The request body wrapped to send 104 progress responses (Upload-Offset) while it streams, when the client speaks
    /// interop 8 (progress responses came with -09's 104 section), the target allows 1xx and the connection can carry
    /// them; null otherwise. Appends carry no Location in them; a creation repeats its Location.
    /// </summary>
    private UploadProgressStream? ProgressStream(HttpContext context, IetfVersion version, UploadTarget target, string? location)
    {
        if (!version.Announced || !version.SendsProgress || !target.Options.InterimResponses
            || InterimResponseWriter.TryCreate(context) is not { } writer)
        {
            return null;
        }

        var headers = new List<KeyValuePair<string, string>>(2) { new(IetfVersion.HeaderName, version.Number.ToString(CultureInfo.InvariantCulture)) };
        if (location is not null)
        {
            headers.Add(new("Location", location));
        }

        return new UploadProgressStream(context.Request.Body, writer, headers, _time, context.RequestAborted);
    }

    private void WriteUploadState(HttpContext context, IetfVersion version, UploadTarget target, UploadRecord upload, bool includeLimit)
    {
        var headers = context.Response.Headers;
        var completed = upload.State == UploadState.Completed;
        // tus-js-client needs Upload-Offset on every data response, whatever the draft version says.
        headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
        version.WriteComplete(context.Response, completed);
        if (upload.Length is long length)
        {
            headers["Upload-Length"] = length.ToString(CultureInfo.InvariantCulture);
        }

        if (includeLimit && version.HasUploadLimit && !completed)
        {
            headers["Upload-Limit"] = FormatLimits(target, version, upload);
        }

        if (completed && upload.Sha256 is { } sha && HeaderValues.WantsSha256(context.Request, "Want-Repr-Digest") is var wanted
            && (wanted || upload.ExpectedDigest is not null))
        {
            headers["Repr-Digest"] = HeaderValues.FormatDigest(DigestValue.Sha256, Convert.FromBase64String(sha));
        }

        WriteVersion(context, version);
    }

    private static void WriteVersion(HttpContext context, IetfVersion version)
    {
        if (version.Announced)
        {
            context.Response.Headers[IetfVersion.HeaderName] = version.Number.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// Upload-Limit as a structured dictionary. max-size is the size enforced: with a declared length the part size may
    /// grow (S3, Azure), without one (and before any upload exists, OPTIONS) the part count caps it at MaxParts x
    /// PartSize. max-age is what remains of this upload, or the target's full lifetime.
    /// </summary>
    private string FormatLimits(UploadTarget target, IetfVersion version, UploadRecord? upload)
    {
        var parts = new List<string>(5);
        var maxSize = UploadCoordinator.MaxLength(target, declared: upload?.Length is not null);
        if (maxSize <= StructuredIntegerMax)
        {
            parts.Add(Member("max-size", maxSize));
        }

        parts.Add(Member("min-size", target.Limits.MinSize));
        if (target.Limits.MaxAppendSize is long maxAppend)
        {
            parts.Add(Member("max-append-size", maxAppend));
        }

        if (target.Limits.MinAppendSize is long minAppend)
        {
            parts.Add(Member("min-append-size", minAppend));
        }

        var remaining = upload?.ExpiresAt is { } expires ? expires - _time.GetUtcNow() : target.Expiration;
        if (remaining is { } age)
        {
            parts.Add(Member(version.MaxAgeKey, Math.Max(0, (long)age.TotalSeconds)));
        }

        return string.Join(", ", parts);
    }

    private const long StructuredIntegerMax = 999_999_999_999_999;

    private static string Member(string key, long value) => $"{key}={value.ToString(CultureInfo.InvariantCulture)}";

    private async Task WriteFailureAsync(
        HttpContext context, IetfVersion version, UploadTarget target, UploadOutcome outcome, UploadRecord? upload, LimitKind limit, long? expectedOffset)
    {
        var response = context.Response;
        WriteVersion(context, version);
        WriteErrorCompleteness(context, version, upload);
        switch (outcome)
        {
            case UploadOutcome.TargetNotFound:
            case UploadOutcome.NotFound:
                await ProblemResults.WriteAsync(response, StatusCodes.Status404NotFound, "about:blank", "Not Found", "No such upload.");
                break;
            case UploadOutcome.Gone:
                var status = version.GoneAsNotFound ? StatusCodes.Status404NotFound : StatusCodes.Status410Gone;
                await ProblemResults.WriteAsync(response, status, "about:blank", status == 410 ? "Gone" : "Not Found", "The upload was cancelled or has expired.");
                break;
            case UploadOutcome.OffsetMismatch:
                var expected = expectedOffset ?? upload?.Offset ?? 0;
                var provided = HeaderValues.GetInteger(context.Request, "Upload-Offset") ?? 0;
                response.Headers["Upload-Offset"] = expected.ToString(CultureInfo.InvariantCulture);
                version.WriteComplete(response, false);
                await ProblemResults.WriteAsync(
                    response, StatusCodes.Status409Conflict, ProblemResults.MismatchingOffset, "Mismatching upload offset",
                    $"The upload is at offset {expected}, the request says {provided}.",
                    [new("expected-offset", expected), new("provided-offset", provided)]);
                break;
            case UploadOutcome.AlreadyCompleted:
                await CompletedUploadAsync(context, version, upload);
                break;
            case UploadOutcome.Forbidden:
                if (upload is not null)
                {
                    response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
                }

                await Security.UploadAuthorization.WriteRefusalAsync(context);
                break;
            case UploadOutcome.TooLarge:
                if (upload is not null)
                {
                    response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
                }

                await TooLargeAsync(context, version, target, upload, limit == LimitKind.MaxAppendSize
                    ? "The append exceeds max-append-size."
                    : "The upload exceeds max-size.");
                break;
            case UploadOutcome.TooSmall:
                // Not 413: the draft tells a client to answer 413 with a smaller request, which would only be smaller still.
                if (upload is not null)
                {
                    response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
                }

                response.Headers["Upload-Limit"] = FormatLimits(target, version, upload);
                await ProblemResults.WriteAsync(
                    response, StatusCodes.Status400BadRequest, "about:blank", "Bad Request",
                    "The append is smaller than min-append-size; only the completing append (Upload-Complete: ?1) may be smaller.");
                break;
            case UploadOutcome.LengthMismatch:
                if (upload is not null)
                {
                    response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
                }

                await InconsistentLengthAsync(context, version, upload?.State == UploadState.Cancelled
                    ? "The content goes past the upload's length; the upload is no longer valid."
                    : "The length indications of this upload disagree.");
                break;
            case UploadOutcome.ObjectExists:
                if (upload is not null)
                {
                    response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
                }

                await ProblemResults.WriteAsync(
                    response, StatusCodes.Status409Conflict, "about:blank", "Object exists",
                    "Another object already exists under this upload's key and the target does not allow overwriting it; the upload's bytes are kept.");
                break;
            case UploadOutcome.DigestMismatch:
                if (upload is not null)
                {
                    response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
                }

                await ProblemResults.WriteAsync(
                    response, StatusCodes.Status400BadRequest, "about:blank", "Digest mismatch",
                    upload?.State == UploadState.Cancelled
                        ? "The uploaded representation does not match Repr-Digest; the upload was cancelled."
                        : "The content does not match Content-Digest; nothing was appended.");
                break;
            default:
                if (upload is not null)
                {
                    response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
                }

                await ProblemResults.WriteAsync(
                    response, StatusCodes.Status409Conflict, "about:blank", "Conflict",
                    "Another request changed this upload; retrieve the offset and resume.");
                break;
        }
    }

    private static Task CompletedUploadAsync(HttpContext context, IetfVersion version, UploadRecord? upload)
    {
        var response = context.Response;
        if (upload is not null)
        {
            response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
            version.WriteComplete(response, true);
        }

        if (version.CompletedUploadIsGone && context.Request.ContentLength is not 0 && HttpMethods.IsPatch(context.Request.Method))
        {
            return ProblemResults.WriteAsync(
                response, StatusCodes.Status400BadRequest, ProblemResults.InconsistentLength, "Inconsistent upload length",
                "The upload is already complete; more content would pass its length.");
        }

        var status = version.CompletedUploadIsGone && HttpMethods.IsPatch(context.Request.Method) ? StatusCodes.Status410Gone : StatusCodes.Status400BadRequest;
        return ProblemResults.WriteAsync(response, status, ProblemResults.CompletedUpload, "Upload is already completed", null);
    }

    private Task TooLargeAsync(HttpContext context, IetfVersion version, UploadTarget target, UploadRecord? upload, string detail)
    {
        WriteVersion(context, version);
        WriteErrorCompleteness(context, version, upload);
        context.Response.Headers["Upload-Limit"] = FormatLimits(target, version, upload);
        return ProblemResults.WriteAsync(context.Response, StatusCodes.Status413PayloadTooLarge, "about:blank", "Content Too Large", detail);
    }

    private static Task InconsistentLengthAsync(HttpContext context, IetfVersion version, string detail)
    {
        WriteVersion(context, version);
        WriteErrorCompleteness(context, version, null);
        return ProblemResults.WriteAsync(
            context.Response, StatusCodes.Status400BadRequest, ProblemResults.InconsistentLength, "Inconsistent upload length", detail);
    }

    private static Task BadRequestAsync(HttpContext context, IetfVersion version, string detail)
    {
        WriteVersion(context, version);
        WriteErrorCompleteness(context, version, null);
        return ProblemResults.WriteAsync(context.Response, StatusCodes.Status400BadRequest, "about:blank", "Bad Request", detail);
    }

    /// <summary>
    /// Error responses to a creation or append say whether the upload is complete (the draft: a final response without
    /// Upload-Complete: ?1 is about the upload, not the processed representation): ?1 only for a completed upload.
    /// Set once; HEAD, DELETE and OPTIONS are not upload requests.
    /// </summary>
    private static void WriteErrorCompleteness(HttpContext context, IetfVersion version, UploadRecord? upload)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsHead(method) || HttpMethods.IsGet(method) || HttpMethods.IsDelete(method) || HttpMethods.IsOptions(method)
            || context.Response.Headers.ContainsKey(version.CompleteHeader))
        {
            return;
        }

        version.WriteComplete(context.Response, upload?.State == UploadState.Completed);
    }

    /// <summary>The completion flag (required) and Upload-Length (optional) of a creation or append; Error when either is bad.</summary>
    private static (bool Complete, long? Length, string? Error) ReadCompletionFields(HttpRequest request, IetfVersion version)
    {
        if (version.ReadComplete(request) is not bool complete)
        {
            return (false, null, $"{version.CompleteHeader} must be a structured boolean (?0 or ?1).");
        }

        if (!request.Headers.ContainsKey("Upload-Length"))
        {
            return (complete, null, null);
        }

        return HeaderValues.GetInteger(request, "Upload-Length") is long length and >= 0
            ? (complete, length, null)
            : (complete, null, "Upload-Length must be a non-negative structured integer.");
    }

    private static bool IsMediaType(string? contentType, string expected) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && parsed.MediaType.Equals(expected, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Representation metadata from the creation request only: Content-Type (unless it is a protocol media type),
    /// Content-Disposition filename, and tus Upload-Metadata that tus-js-client sends in its draft modes too.
    /// </summary>
    private static (string? FileName, string? ContentType, IReadOnlyDictionary<string, string>? Metadata) ReadRepresentationMetadata(HttpRequest request)
    {
        string? contentType = null;
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            && !mediaType.MediaType.Equals(PartialUploadMediaType, StringComparison.OrdinalIgnoreCase)
            && !mediaType.MediaType.Equals("application/offset+octet-stream", StringComparison.OrdinalIgnoreCase))
        {
            contentType = mediaType.ToString();
        }

        string? fileName = null;
        if (ContentDispositionHeaderValue.TryParse(request.Headers.ContentDisposition.ToString(), out var disposition))
        {
            fileName = (disposition.FileNameStar.HasValue ? disposition.FileNameStar : HeaderUtilities.RemoveQuotes(disposition.FileName)).Value;
        }

        var metadata = TusMetadata.Parse(request.Headers["Upload-Metadata"].ToString());
        fileName ??= metadata.GetValueOrDefault("filename");
        contentType ??= metadata.GetValueOrDefault("filetype") ?? metadata.GetValueOrDefault("contentType");
        return (string.IsNullOrWhiteSpace(fileName) ? null : fileName, contentType, metadata.Count > 0 ? metadata : null);
    }



    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.Ietf.InterimNotSent, LogLevel.Debug, "Upload {UploadId}: 104 not sent (response started or client gone)")]
        public static partial void InterimNotSent(ILogger logger, string uploadId);
    }
}
