using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using StorageBridge.AspNetCore.Http;
using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>
/// The Resumable.js / Flow.js front-end: numbered chunks POSTed to the target URL (multipart with the bytes in form
/// field <c>file</c>, or <c>method: 'octet'</c> raw bodies) and test GETs (200 = stored, 204 = send it). It only parses
/// and writes HTTP; identity, ordering and storage are <see cref="ChunkUploads"/>'s, which takes the parsed
/// <see cref="ChunkRequest"/> and speaks no HTTP.
/// </summary>
internal sealed partial class ResumableUploadHandler
{
    /// <summary>Form field that carries the bytes (Resumable.js and Flow.js default <c>fileParameterName</c>).</summary>
    public const string FileField = "file";

    private const int MaxFormFields = 64;
    private const int MaxFormFieldBytes = 4 * 1024;

    private readonly ChunkUploads _chunks;
    private readonly ILogger<ResumableUploadHandler> _logger;

    public ResumableUploadHandler(ChunkUploads chunks, ILogger<ResumableUploadHandler> logger)
    {
        _chunks = chunks;
        _logger = logger;
    }

    /// <summary>A POST to the target URL is a chunk when its query names a chunk or its body is a multipart form.</summary>
    public static bool IsChunkUpload(HttpRequest request) => ChunkFields.InQuery(request.Query) || IsMultipartForm(request);

    public static bool IsChunkTest(HttpRequest request) => ChunkFields.InQuery(request.Query);

    /// <summary>Test GET: 200 when the chunk is stored (with the upload's JSON), 204 when the client should send it.</summary>
    public async Task TestAsync(HttpContext context, UploadTarget target)
    {
        context.Response.Headers.CacheControl = "no-store";
        var (fields, error) = ChunkFields.Parse(context.Request.Query, null);
        if (fields is null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, error!);
            return;
        }

        var result = await _chunks.TestChunkAsync(fields.ToRequest(target.Name, context, null), context.RequestAborted);
        if (result.Outcome != UploadOutcome.Success)
        {
            await WriteFailureAsync(context, result);
            return;
        }

        if (!result.ChunkStored)
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        await WriteUploadAsync(context, result.Upload!);
    }

    /// <summary>Chunk POST: multipart/form-data (fields in form and/or query) or a raw body (fields in the query).</summary>
    public async Task UploadAsync(HttpContext context, UploadTarget target)
    {
        context.Response.Headers.CacheControl = "no-store";
        UploadHttp.DisableBodySizeLimit(context);
        var request = context.Request;
        var body = request.Body as GuardedRequestBody ?? GuardedRequestBody.For(context);
        if (IsMultipartForm(request))
        {
            await UploadMultipartAsync(context, target, body);
            return;
        }

        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            && (type.MediaType.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase)
                || type.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)))
        {
            await ErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, "Send chunks as multipart/form-data or as a raw body (method: 'octet').");
            return;
        }

        var (fields, error) = ChunkFields.Parse(request.Query, null);
        if (fields is null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, error!);
            return;
        }

        await WriteChunkAsync(context, target, fields, request.ContentLength, body);
    }

    private async Task UploadMultipartAsync(HttpContext context, UploadTarget target, GuardedRequestBody body)
    {
        var request = context.Request;
        var boundary = MediaTypeHeaderValue.TryParse(request.ContentType, out var type) ? HeaderUtilities.RemoveQuotes(type.Boundary).Value : null;
        if (string.IsNullOrEmpty(boundary) || boundary.Length > 200)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "multipart/form-data needs a boundary.");
            return;
        }

        // Sections are streamed: the form fields before the file part are read (small and bounded), the file part
        // itself goes straight on to the engine.
        var reader = new MultipartReader(boundary, body) { BodyLengthLimit = null };
        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            while (await reader.ReadNextSectionAsync(context.RequestAborted) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                {
                    await ErrorAsync(context, StatusCodes.Status400BadRequest, "Every multipart section needs Content-Disposition: form-data; name=\"...\".");
                    return;
                }

                var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                if (name == FileField)
                {
                    var (fields, error) = ChunkFields.Parse(request.Query, form);
                    if (fields is null)
                    {
                        await ErrorAsync(context, StatusCodes.Status400BadRequest, error!);
                        return;
                    }

                    await WriteChunkAsync(context, target, fields, null, new GuardedRequestBody(section.Body, null, null), body);
                    return;
                }

                if (form.Count >= MaxFormFields)
                {
                    await ErrorAsync(context, StatusCodes.Status400BadRequest, "Too many form fields.");
                    return;
                }

                var value = await ReadFieldAsync(section.Body, context.RequestAborted);
                if (value is null)
                {
                    await ErrorAsync(context, StatusCodes.Status400BadRequest, $"Form field '{name}' is too long.");
                    return;
                }

                form[name] = value;
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            // Broken multipart framing before the file part: MultipartReader throws InvalidDataException for bad
            // lines and IOException for a body that ends early (garbage, empty, another boundary); a read Kestrel
            // refused carries its own status (408 for a body too slow).
            await ErrorAsync(context, body.Failure is null ? StatusCodes.Status400BadRequest : body.Status, "Malformed multipart body: " + ex.Message);
            return;
        }

        await ErrorAsync(context, StatusCodes.Status400BadRequest, $"The multipart body has no '{FileField}' part.");
    }

    private Task WriteChunkAsync(HttpContext context, UploadTarget target, ChunkFields fields, long? contentLength, GuardedRequestBody body) =>
        WriteChunkAsync(context, target, fields, contentLength, body, body);

    /// <param name="chunk">The chunk's bytes: the raw body or the multipart file section.</param>
    /// <param name="body">The request body under it, which knows whether Kestrel refused a read (and with which status).</param>
    private async Task WriteChunkAsync(
        HttpContext context, UploadTarget target, ChunkFields fields, long? contentLength, GuardedRequestBody chunk, GuardedRequestBody body)
    {
        ChunkResult result;
        try
        {
            result = await _chunks.WriteChunkAsync(fields.ToRequest(target.Name, context, contentLength), chunk, context.RequestAborted);
        }
        catch (IOException ex) when (chunk.Failure is not null)
        {
            // The chunk's body broke off (Kestrel refused it, or the multipart section ended without its boundary):
            // the client's fault, not the storage's. Backends report their failures as StorageBackendException.
            await ErrorAsync(context, body.Status, "The chunk's body ended early: " + ex.Message);
            return;
        }

        if (result.Outcome == UploadOutcome.Interrupted)
        {
            await ErrorAsync(context, body.Status, "The chunk's body ended early (broken framing, or the client stopped sending); send the chunk again.");
            return;
        }

        if (result.Outcome != UploadOutcome.Success)
        {
            await WriteFailureAsync(context, result);
            return;
        }

        Log.ChunkStored(_logger, result.Upload!.Id, fields.ChunkNumber, result.IsComplete);
        await WriteUploadAsync(context, result.Upload!);
    }

    /// <summary>Small form field values (the chunk fields); null when longer than the bound.</summary>
    private static async Task<string?> ReadFieldAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxFormFieldBytes + 1];
        var filled = 0;
        int read;
        while (filled < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
        {
            filled += read;
        }

        return filled > MaxFormFieldBytes ? null : Encoding.UTF8.GetString(buffer, 0, filled);
    }

    /// <summary>200 with <c>{"id", "location", "complete"}</c>: the location is the upload resource, <c>{location}/content</c> downloads it.</summary>
    private static async Task WriteUploadAsync(HttpContext context, UploadRecord upload)
    {
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", upload.Id);
            json.WriteString("location", UploadHttp.Location(context, upload));
            json.WriteBoolean("complete", upload.State == UploadState.Completed);
            json.WriteEndObject();
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.Length;
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }

    /// <summary>
    /// Refusals that cannot succeed on a retry use 400, 404 or 415, which Resumable.js 1.1.0 never retries (its
    /// permanentErrors: 400, 404, 415, 500, 501; it retries 409 and 413 up to maxChunkRetries, 100 by default). Flow.js
    /// 2.14.1 retries nothing by default (maxChunkRetries: 0), and with retries configured it stops at once on 404, 413,
    /// 415, 500, 501. A race worth retrying is 503 + Retry-After, which Resumable.js retries and Flow.js retries when
    /// maxChunkRetries is set.
    /// </summary>
    private static Task WriteFailureAsync(HttpContext context, ChunkResult result)
    {
        switch (result.Outcome)
        {
            case UploadOutcome.TargetNotFound or UploadOutcome.NotFound:
                return ErrorAsync(context, StatusCodes.Status404NotFound, "No such target or upload.");
            case UploadOutcome.Gone:
                return ErrorAsync(context, StatusCodes.Status404NotFound, result.Error ?? "The upload was cancelled or has expired.");
            case UploadOutcome.TooLarge:
                return ErrorAsync(context, StatusCodes.Status413PayloadTooLarge, result.Error ?? "The file or chunk exceeds this target's limits.");
            case UploadOutcome.ObjectExists:
                // Not 409: Resumable.js retries 409, and the object will not go away.
                return ErrorAsync(context, StatusCodes.Status400BadRequest, "Another object already exists under this upload's key and the target does not allow overwriting it.");
            case UploadOutcome.DigestMismatch:
                return ErrorAsync(context, StatusCodes.Status400BadRequest, result.Error ?? "The chunk differs from the chunk already stored under its number.");
            case UploadOutcome.Rejected when result.Rejection is { } rejection:
                AspNetCore.Hooks.CreationRejections.WriteRetryAfter(context, rejection);
                return ErrorAsync(context, AspNetCore.Hooks.CreationRejections.ChunkStatus(rejection), rejection.Message);
            case UploadOutcome.Conflict:
                context.Response.Headers.RetryAfter = "1";
                return ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, result.Error ?? "Another request changed this upload; retry the chunk.");
            default:
                return ErrorAsync(context, StatusCodes.Status400BadRequest, result.Error ?? "The chunk does not fit this upload.");
        }
    }

    private static Task ErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n", context.RequestAborted);
    }

    private static bool IsMultipartForm(HttpRequest request) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
        && type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase);

    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.Resumable.ChunkStored, LogLevel.Debug, "Chunk {Chunk} of upload {UploadId} stored (complete: {Complete})")]
        public static partial void ChunkStored(ILogger logger, string uploadId, long chunk, bool complete);
    }
}
