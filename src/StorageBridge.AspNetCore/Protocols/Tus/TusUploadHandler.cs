using StorageBridge.AspNetCore.Http;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Protocols.Tus;

/// <summary>
/// The tus 1.0.0 front-end (core, creation, creation-with-upload, creation-defer-length, expiration, checksum,
/// termination, concatenation). It only parses and writes HTTP: bytes, offsets and limits are the coordinator's.
/// A request is tus when it carries <c>Tus-Resumable</c>; the IETF handler keeps everything else.
/// </summary>
internal sealed partial class TusUploadHandler
{
    public const string HeaderName = "Tus-Resumable";

    // Record keys (UploadRecord.ProtocolState) the front-end needs to answer HEAD later.
    private const string MetadataKey = "tus.metadata";
    private const string ConcatKey = "tus.concat";

    private readonly UploadCoordinator _coordinator;
    private readonly ILogger<TusUploadHandler> _logger;

    public TusUploadHandler(UploadCoordinator coordinator, ILogger<TusUploadHandler> logger)
    {
        _coordinator = coordinator;
        _logger = logger;
    }

    public static bool IsTusRequest(HttpRequest request) => request.Headers.ContainsKey(HeaderName);

    /// <summary>Tus-* discovery headers, added to the OPTIONS response that also carries the IETF limits.</summary>
    public void WriteOptions(HttpContext context, UploadTarget target)
    {
        var headers = context.Response.Headers;
        headers[HeaderName] = TusHeaders.Version;
        headers["Tus-Version"] = TusHeaders.Version;
        headers["Tus-Extension"] = Extensions(target);
        headers["Tus-Checksum-Algorithm"] = TusHeaders.ChecksumAlgorithms;
        // What every upload gets, also one whose length is deferred (part count x PartSize on S3 and Azure); an
        // upload that declares its length may be larger (the part size grows), so this never promises too much.
        var max = UploadCoordinator.MaxLength(target, declared: false);
        if (max < long.MaxValue)
        {
            headers["Tus-Max-Size"] = max.ToString(CultureInfo.InvariantCulture);
        }
    }

    private string Extensions(UploadTarget target)
    {
        var list = new List<string> { "creation", "creation-with-upload", "creation-defer-length", "checksum", "termination" };
        if (target.Expiration is not null)
        {
            list.Add("expiration");
        }

        // Only when the target's backend can join objects: clients then fall back to a single upload.
        if (_coordinator.SupportsConcatenation(target.Name))
        {
            list.Add("concatenation");
        }

        return string.Join(',', list);
    }

    public async Task CreateAsync(HttpContext context, UploadTarget target)
    {
        if (!await CheckVersionAsync(context))
        {
            return;
        }

        var request = context.Request;
        var metadataHeader = request.Headers["Upload-Metadata"].ToString();
        var metadata = TusHeaders.ParseMetadata(metadataHeader);
        if (metadata is null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Metadata must be comma-separated '<key> <base64>' pairs with unique keys.");
            return;
        }

        var state = new Dictionary<string, string>(StringComparer.Ordinal);
        if (metadataHeader.Length > 0)
        {
            state[MetadataKey] = metadataHeader;
        }

        var fileName = metadata.GetValueOrDefault("filename") is { Length: > 0 } name ? name : null;
        var contentType = metadata.GetValueOrDefault("filetype") is { Length: > 0 } type ? type : null;
        if (!StoredContentType.IsStorable(contentType))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "filetype: " + StoredContentType.RefusalMessage);
            return;
        }

        if (request.Headers.TryGetValue("Upload-Concat", out var concatValue))
        {
            // Bounded before it is parsed or any source is looked at (MaxConcatSources, docs/limits.md).
            if (Limits.ConcatLimits.Check(concatValue.ToString(), target) is { } tooMany)
            {
                await Limits.LimitAnswers.WriteAsync(context, tooMany);
                return;
            }

            if (TusHeaders.ParseConcat(concatValue.ToString()) is not { } concat)
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Concat must be 'partial' or 'final;<url> <url> ...'.");
                return;
            }

            if (!_coordinator.SupportsConcatenation(target.Name))
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, "This target does not support the concatenation extension.");
                return;
            }

            if (concat.FinalUrls is { } urls)
            {
                await CreateFinalAsync(context, target, urls, fileName, contentType, metadata, state);
                return;
            }

            state[ConcatKey] = "partial";
        }

        var hasLength = request.Headers.TryGetValue("Upload-Length", out var lengthValue);
        var hasDefer = request.Headers.TryGetValue("Upload-Defer-Length", out var deferValue);
        long? length = null;
        if (hasLength == hasDefer)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "Send exactly one of Upload-Length and Upload-Defer-Length: 1.");
            return;
        }

        if (hasDefer && deferValue.ToString() != "1")
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Defer-Length must be 1.");
            return;
        }

        if (hasLength)
        {
            if (!TusHeaders.TryParseLength(lengthValue.ToString(), out var declared))
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Length must be a non-negative integer.");
                return;
            }

            length = declared;
        }

        var hasContent = request.ContentLength is > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
        if (hasContent && !IsOffsetOctetStream(request))
        {
            await ErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, $"Data in a creation request needs Content-Type: {TusHeaders.OffsetOctetStream}.");
            return;
        }

        var (checksum, checksumError) = ReadChecksum(request);
        if (checksumError is not null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, checksumError);
            return;
        }

        var created = await _coordinator.CreateAsync(
            new CreateUploadRequest
            {
                Target = target.Name,
                Protocol = "tus",
                Owner = Security.UploadPrincipals.OwnerOf(context),
                Principal = Security.UploadPrincipals.PrincipalOf(context),
                Length = length,
                ContentType = contentType,
                FileName = fileName,
                Metadata = metadata.Count > 0 ? metadata : null,
                ProtocolState = state,
            },
            context.RequestAborted);
        if (created.Rejection is { } rejection)
        {
            await RejectedAsync(context, rejection);
            return;
        }

        if (Limits.LimitAnswers.For(created.Outcome, created.Limit, target) is { } refused)
        {
            await Limits.LimitAnswers.WriteAsync(context, refused);
            return;
        }

        if (created.Outcome != UploadOutcome.Success)
        {
            await WriteFailureAsync(context, created.Outcome, created.Upload);
            return;
        }

        var upload = created.Upload!;
        var location = UploadHttp.Location(context, upload);
        // An empty upload is complete as soon as it exists; data in the POST is the first append (creation-with-upload).
        if (hasContent || length == 0)
        {
            UploadHttp.DisableBodySizeLimit(context);
            var appended = await _coordinator.AppendAsync(
                new AppendRequest
                {
                    Target = target.Name,
                    Id = upload.Id,
                    Owner = upload.Owner,
                    AuthorizeCompletion = Security.UploadAuthorization.CompletionCheck(context),
                    Offset = 0,
                    ContentLength = request.ContentLength,
                    ContentDigest = checksum,
                    IsCreation = true,
                },
                request.Body,
                context.RequestAborted);
            if (appended.Outcome is not (UploadOutcome.Success or UploadOutcome.Interrupted))
            {
                // The upload exists (empty): tell the client where, so it can resume instead of starting over.
                context.Response.Headers.Location = location;
                await WriteFailureAsync(context, appended.Outcome, appended.Upload);
                return;
            }

            upload = appended.Upload ?? upload;
        }

        Log.Created(_logger, upload.Id, length);
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = location;
        WriteCommon(context);
        context.Response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
        WriteExpires(context, upload);
    }

    private async Task CreateFinalAsync(
        HttpContext context, UploadTarget target, IReadOnlyList<string> urls, string? fileName, string? contentType,
        Dictionary<string, string> metadata, Dictionary<string, string> state)
    {
        if (context.Request.Headers.ContainsKey("Upload-Length") || context.Request.Headers.ContainsKey("Upload-Defer-Length"))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "A final upload takes its length from its partial uploads: no Upload-Length.");
            return;
        }

        if (context.Request.ContentLength is > 0)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "A final upload carries no data.");
            return;
        }

        var ids = new List<string>(urls.Count);
        foreach (var url in urls)
        {
            if (TusHeaders.IdFromUrl(url, target.Name) is not { } id)
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, $"'{url}' is not an upload of this target.");
                return;
            }

            // Only partial uploads may be joined (tus: the final upload references Upload-Concat: partial uploads).
            var source = await _coordinator.GetAsync(target.Name, id, Security.UploadPrincipals.OwnerOf(context), context.RequestAborted);
            if (source.Outcome == UploadOutcome.Success && source.Upload!.ProtocolState.GetValueOrDefault(ConcatKey) != "partial")
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, $"'{url}' is not a partial upload.");
                return;
            }

            ids.Add(id);
        }

        state[ConcatKey] = "final;" + string.Join(' ', urls);
        var joined = await _coordinator.ConcatenateAsync(
            new ConcatenateRequest
            {
                Target = target.Name,
                SourceIds = ids,
                Protocol = "tus",
                Owner = Security.UploadPrincipals.OwnerOf(context),
                Principal = Security.UploadPrincipals.PrincipalOf(context),
                FileName = fileName,
                ContentType = contentType,
                Metadata = metadata.Count > 0 ? metadata : null,
                ProtocolState = state,
            },
            context.RequestAborted);
        if (joined.Rejection is { } rejection)
        {
            await RejectedAsync(context, rejection);
            return;
        }

        if (Limits.LimitAnswers.For(joined.Outcome, joined.Limit, target) is { } refused)
        {
            await Limits.LimitAnswers.WriteAsync(context, refused);
            return;
        }

        if (joined.Outcome != UploadOutcome.Success)
        {
            await WriteFailureAsync(context, joined.Outcome, null);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = UploadHttp.Location(context, joined.Upload!);
        WriteCommon(context);
        context.Response.Headers["Upload-Offset"] = joined.Upload!.Offset.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>HEAD, PATCH or DELETE (also as POST + X-HTTP-Method-Override) on an upload.</summary>
    public async Task HandleUploadAsync(HttpContext context, UploadTarget target, string id)
    {
        if (!await CheckVersionAsync(context))
        {
            return;
        }

        // For environments that only pass GET and POST: the override names the real method.
        var method = context.Request.Headers["X-HTTP-Method-Override"].ToString() is { Length: > 0 } overridden
            ? overridden.Trim().ToUpperInvariant()
            : context.Request.Method;
        switch (method)
        {
            case "HEAD":
            case "GET":
                await HeadAsync(context, target, id);
                break;
            case "PATCH":
                await PatchAsync(context, target, id);
                break;
            case "DELETE":
                await DeleteAsync(context, target, id);
                break;
            default:
                context.Response.Headers.Allow = "HEAD, PATCH, DELETE, OPTIONS";
                await ErrorAsync(context, StatusCodes.Status405MethodNotAllowed, $"{method} is not a tus method for an upload.");
                break;
        }
    }

    private async Task HeadAsync(HttpContext context, UploadTarget target, string id)
    {
        var result = await _coordinator.GetAsync(target.Name, id, Security.UploadPrincipals.OwnerOf(context), context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        if (result.Outcome != UploadOutcome.Success)
        {
            await WriteFailureAsync(context, result.Outcome, null);
            return;
        }

        var upload = result.Upload!;
        var headers = context.Response.Headers;
        context.Response.StatusCode = StatusCodes.Status200OK;
        WriteCommon(context);
        headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
        if (upload.Length is long length)
        {
            headers["Upload-Length"] = length.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            headers["Upload-Defer-Length"] = "1";
        }

        if (upload.ProtocolState.GetValueOrDefault(MetadataKey) is { } metadata)
        {
            headers["Upload-Metadata"] = metadata;
        }

        if (upload.ProtocolState.GetValueOrDefault(ConcatKey) is { } concat)
        {
            headers["Upload-Concat"] = concat;
        }

        WriteExpires(context, upload);
    }

    private async Task PatchAsync(HttpContext context, UploadTarget target, string id)
    {
        var request = context.Request;
        if (!IsOffsetOctetStream(request))
        {
            await ErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, $"PATCH needs Content-Type: {TusHeaders.OffsetOctetStream}.");
            return;
        }

        if (!TusHeaders.TryParseLength(request.Headers["Upload-Offset"].ToString(), out var offset))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Offset must be a non-negative integer.");
            return;
        }

        long? declared = null;
        if (request.Headers.TryGetValue("Upload-Length", out var lengthValue))
        {
            if (!TusHeaders.TryParseLength(lengthValue.ToString(), out var length))
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Length must be a non-negative integer.");
                return;
            }

            declared = length;
        }

        var (checksum, checksumError) = ReadChecksum(request);
        if (checksumError is not null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, checksumError);
            return;
        }

        UploadHttp.DisableBodySizeLimit(context);
        var result = await _coordinator.AppendAsync(
            new AppendRequest
            {
                Target = target.Name,
                Id = id,
                Owner = Security.UploadPrincipals.OwnerOf(context),
                AuthorizeCompletion = Security.UploadAuthorization.CompletionCheck(context),
                Offset = offset,
                DeclaredLength = declared,
                ContentLength = request.ContentLength,
                ContentDigest = checksum,
            },
            request.Body,
            context.RequestAborted);

        var upload = result.Upload;
        if (result.Outcome == UploadOutcome.AlreadyCompleted && upload is not null)
        {
            if (upload.ProtocolState.GetValueOrDefault(ConcatKey)?.StartsWith("final;", StringComparison.Ordinal) == true)
            {
                await ErrorAsync(context, StatusCodes.Status403Forbidden, "A final upload cannot be patched.");
                return;
            }

            // A repeated empty PATCH at the end (a retried last request) is not an error: nothing changes.
            if (offset == upload.Offset && request.ContentLength is 0 && (declared is null || declared == upload.Length))
            {
                WriteAppended(context, upload);
                return;
            }

            context.Response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
            var status = offset != upload.Offset ? StatusCodes.Status409Conflict : StatusCodes.Status413PayloadTooLarge;
            await ErrorAsync(context, status, "The upload is already complete.");
            return;
        }

        if (result.Outcome is not (UploadOutcome.Success or UploadOutcome.Interrupted))
        {
            await WriteFailureAsync(context, result.Outcome, upload, declared is not null);
            return;
        }

        WriteAppended(context, upload!);
    }

    private static void WriteAppended(HttpContext context, UploadRecord upload)
    {
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        WriteCommon(context);
        context.Response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
        WriteExpires(context, upload);
    }

    private async Task DeleteAsync(HttpContext context, UploadTarget target, string id)
    {
        // Termination covers completed uploads too (204): the upload is deactivated, its object kept unless the target
        // deletes it (OnCancelCompleted).
        var result = await _coordinator.CancelAsync(target.Name, id, Security.UploadPrincipals.OwnerOf(context), context.RequestAborted);
        if (result.Outcome != UploadOutcome.Success)
        {
            await WriteFailureAsync(context, result.Outcome, null);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
        WriteCommon(context);
    }

    private static (DigestValue? Digest, string? Error) ReadChecksum(HttpRequest request) =>
        request.Headers.TryGetValue("Upload-Checksum", out var value) ? TusHeaders.ParseChecksum(value.ToString()) : (null, null);

    /// <summary>
    /// 412 + Tus-Version unless the request speaks tus 1.0.0. Like every non-OPTIONS response it carries Tus-Resumable
    /// (tus 1.0: "MUST be included in every request and response except for OPTIONS requests").
    /// </summary>
    private static async Task<bool> CheckVersionAsync(HttpContext context)
    {
        if (context.Request.Headers[HeaderName].ToString() == TusHeaders.Version)
        {
            return true;
        }

        context.Response.StatusCode = StatusCodes.Status412PreconditionFailed;
        WriteCommon(context);
        context.Response.Headers["Tus-Version"] = TusHeaders.Version;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync($"Unsupported Tus-Resumable; this server speaks {TusHeaders.Version}.\n", context.RequestAborted);
        return false;
    }

    private static Task WriteFailureAsync(HttpContext context, UploadOutcome outcome, UploadRecord? upload, bool lengthInRequest = false)
    {
        // Offsets on the 4xx that leave the upload usable, so a client can resume without a HEAD.
        if (upload is not null && outcome is UploadOutcome.OffsetMismatch or UploadOutcome.DigestMismatch or UploadOutcome.LengthMismatch or UploadOutcome.TooLarge or UploadOutcome.Conflict or UploadOutcome.Forbidden)
        {
            context.Response.Headers["Upload-Offset"] = upload.Offset.ToString(CultureInfo.InvariantCulture);
        }

        return outcome switch
        {
            UploadOutcome.NotFound or UploadOutcome.TargetNotFound => ErrorAsync(context, StatusCodes.Status404NotFound, "No such upload."),
            UploadOutcome.Gone => ErrorAsync(context, StatusCodes.Status410Gone, "The upload was terminated or has expired."),
            UploadOutcome.OffsetMismatch => ErrorAsync(context, StatusCodes.Status409Conflict, "Upload-Offset does not match the upload's offset."),
            UploadOutcome.DigestMismatch => ErrorAsync(context, 460, "Checksum Mismatch: the chunk was discarded."),
            UploadOutcome.TooLarge => ErrorAsync(context, StatusCodes.Status413PayloadTooLarge, "The upload exceeds the maximum size (Tus-Max-Size) or the append limit."),
            UploadOutcome.TooSmall => ErrorAsync(context, StatusCodes.Status413PayloadTooLarge, "The append is smaller than the target's minimum append size."),
            UploadOutcome.LengthMismatch when lengthInRequest =>
                ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Length conflicts with the upload's length or offset."),
            UploadOutcome.LengthMismatch => ErrorAsync(context, StatusCodes.Status413PayloadTooLarge, "The data would pass the upload's length."),
            UploadOutcome.IncompleteSource => ErrorAsync(context, StatusCodes.Status400BadRequest, "A partial upload is not finished (concatenation-unfinished is not supported)."),
            UploadOutcome.NotSupported => ErrorAsync(context, StatusCodes.Status400BadRequest, "This target does not support concatenation."),
            UploadOutcome.AlreadyCompleted => ErrorAsync(context, StatusCodes.Status400BadRequest, "The upload is already complete."),
            UploadOutcome.Forbidden => Security.UploadAuthorization.WriteRefusalAsync(context),
            UploadOutcome.ObjectExists => ErrorAsync(context, StatusCodes.Status409Conflict, "Another object already exists under this upload's key and the target does not allow overwriting it."),
            _ => ErrorAsync(context, StatusCodes.Status409Conflict, "Another request changed this upload; retrieve the offset and resume."),
        };
    }

    /// <summary>A creation hook's refusal: its status, its message as the text body.</summary>
    private static Task RejectedAsync(HttpContext context, StorageBridge.Hooks.UploadCreationRejection rejection)
    {
        AspNetCore.Hooks.CreationRejections.WriteRetryAfter(context, rejection);
        return ErrorAsync(context, rejection.Status, rejection.Message);
    }

    /// <summary>tus errors are plain text (as tusd does) and carry Tus-Resumable like every other response.</summary>
    private static Task ErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        WriteCommon(context);
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n", context.RequestAborted);
    }

    private static void WriteCommon(HttpContext context) => context.Response.Headers[HeaderName] = TusHeaders.Version;

    private static void WriteExpires(HttpContext context, UploadRecord upload)
    {
        if (upload.State == UploadState.Open && upload.ExpiresAt is { } expires)
        {
            // RFC 9110 IMF-fixdate, e.g. "Wed, 25 Jun 2014 16:00:00 GMT".
            context.Response.Headers["Upload-Expires"] = expires.UtcDateTime.ToString("R", CultureInfo.InvariantCulture);
        }
    }

    private static bool IsOffsetOctetStream(HttpRequest request) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed)
        && parsed.MediaType.Equals(TusHeaders.OffsetOctetStream, StringComparison.OrdinalIgnoreCase);



    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.Tus.Created, LogLevel.Debug, "tus upload {UploadId} created (length {Length})")]
        public static partial void Created(ILogger logger, string uploadId, long? length);
    }
}
