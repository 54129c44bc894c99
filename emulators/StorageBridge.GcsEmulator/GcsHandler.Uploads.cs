using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace StorageBridge.GcsEmulator;

/// <summary>Object insert: uploadType=media, multipart and resumable (initiation and session requests).</summary>
public sealed partial class GcsHandler
{
    /// <summary>Every chunk but the last must be a multiple of this (Google's documented 256 KiB granularity).</summary>
    public const int ChunkGranularity = 256 * 1024;

    /// <summary>Fault-injection header (named like storage-testbench's): <c>return-503</c> or <c>short-308</c> on a chunk.</summary>
    public const string InstructionsHeader = "x-goog-emulator-instructions";

    private static readonly string[] ExtraFields = ["cacheControl", "contentDisposition", "contentEncoding", "contentLanguage", "customTime"];

    private async Task InsertAsync(HttpContext context, string bucket, CancellationToken cancellationToken)
    {
        IQueryCollection query = context.Request.Query;
        store.GetBucket(bucket);
        var preconditions = Preconditions.From(query);
        string uploadType = query["uploadType"].ToString();
        switch (uploadType)
        {
            case "media":
            {
                ObjectSpec spec = SpecFrom(null, query["name"], context.Request.ContentType);
                // A gzip-encoded media body is stored as sent, marked contentEncoding=gzip (GCS transcoding semantics).
                if (string.Equals(context.Request.Headers.ContentEncoding, "gzip", StringComparison.OrdinalIgnoreCase))
                {
                    spec = spec with { Extra = new Dictionary<string, string>(spec.Extra) { ["contentEncoding"] = "gzip" } };
                }

                preconditions.Check(store.FindObject(bucket, spec.Name));
                string file = store.NewFilePath();
                await WriteNewFileAsync(context.Request.Body, file, cancellationToken);
                ObjectRecord created = await store.CommitAsync(bucket, spec, preconditions, file, cancellationToken);
                await WriteJsonAsync(context, 200, ObjectJson(context, created), cancellationToken);
                return;
            }

            case "multipart":
                await InsertMultipartAsync(context, bucket, preconditions, cancellationToken);
                return;

            case "resumable":
            {
                JsonObject? metadata = await ReadJsonAsync(context, cancellationToken);
                string? contentType = context.Request.Headers["X-Upload-Content-Type"];
                ObjectSpec spec = SpecFrom(metadata, query["name"], string.IsNullOrEmpty(contentType) ? null : contentType);
                // Google checks preconditions at initiation as well as when the object is finalized.
                preconditions.Check(store.FindObject(bucket, spec.Name));
                UploadSession session = store.StartSession(bucket, spec, preconditions);
                string location = $"{context.Request.Scheme}://{context.Request.Host}/upload/storage/v1/b/{Uri.EscapeDataString(bucket)}/o" +
                    $"?uploadType=resumable&name={Uri.EscapeDataString(spec.Name)}&upload_id={session.Id}";
                context.Response.StatusCode = 200;
                context.Response.Headers.Location = location;
                context.Response.Headers["X-GUploader-UploadID"] = session.Id;
                context.Response.ContentLength = 0;
                return;
            }

            default:
                throw GcsException.BadRequest($"Invalid upload type: '{uploadType}'.");
        }
    }

    private async Task InsertMultipartAsync(HttpContext context, string bucket, Preconditions preconditions, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out MediaTypeHeaderValue? mediaType) ||
            !mediaType.MediaType.Equals("multipart/related", StringComparison.OrdinalIgnoreCase) ||
            HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value is not { Length: > 0 } boundary)
        {
            throw GcsException.BadRequest("Multipart upload needs Content-Type: multipart/related; boundary=...");
        }

        await using Stream body = RequestBody(context);
        var reader = new MultipartReader(boundary, body);
        MultipartSection metadataPart = await reader.ReadNextSectionAsync(cancellationToken)
            ?? throw GcsException.BadRequest("Multipart body has no metadata part.");
        JsonObject? metadata = await ReadJsonAsync(metadataPart.Body, cancellationToken);
        MultipartSection mediaPart = await reader.ReadNextSectionAsync(cancellationToken)
            ?? throw GcsException.BadRequest("Multipart body has no media part.");
        ObjectSpec spec = SpecFrom(metadata, context.Request.Query["name"], mediaPart.ContentType);
        preconditions.Check(store.FindObject(bucket, spec.Name));

        string file = store.NewFilePath();
        await WriteNewFileAsync(mediaPart.Body, file, cancellationToken);
        if (await reader.ReadNextSectionAsync(cancellationToken) is not null)
        {
            File.Delete(file);
            throw GcsException.BadRequest("Multipart body has more than two parts.");
        }

        ObjectRecord created = await store.CommitAsync(bucket, spec, preconditions, file, cancellationToken);
        await WriteJsonAsync(context, 200, ObjectJson(context, created), cancellationToken);
    }

    private async Task HandleSessionAsync(HttpContext context, string bucket, CancellationToken cancellationToken)
    {
        string id = context.Request.Query["upload_id"].ToString();
        UploadSession session = store.FindSession(id) is { } found && found.Bucket == bucket
            ? found
            : throw GcsException.NotFound("No such upload session.");

        await session.Gate.WaitAsync(cancellationToken);
        try
        {
            // A cancel may have won the gate first.
            if (store.FindSession(id) is null)
            {
                throw GcsException.NotFound("No such upload session.");
            }

            if (context.Request.Method == HttpMethods.Delete)
            {
                store.RemoveSession(id);
                if (session.Result is null)
                {
                    File.Delete(session.FilePath);
                }

                // Google answers a cancelled session with the non-standard 499 (Client Closed Request).
                context.Response.StatusCode = 499;
                context.Response.ContentLength = 0;
                return;
            }

            if (context.Request.Method != HttpMethods.Put && context.Request.Method != HttpMethods.Post)
            {
                throw new GcsException(405, "methodNotAllowed", "Upload sessions accept PUT and DELETE.");
            }

            await ContinueSessionAsync(context, session, cancellationToken);
        }
        finally
        {
            session.Gate.Release();
        }
    }

    private async Task ContinueSessionAsync(HttpContext context, UploadSession session, CancellationToken cancellationToken)
    {
        if (session.Result is not null)
        {
            await WriteJsonAsync(context, 200, ObjectJson(context, session.Result), cancellationToken);
            return;
        }

        ContentRange range = ContentRange.FromRequest(context.Request);
        if (range.Total is { } total)
        {
            long highest = range.Last is { } last ? last + 1 : session.Persisted;
            if ((session.Total is { } known && known != total) || total < session.Persisted || highest > total)
            {
                throw GcsException.BadRequest($"Invalid Content-Range for an upload of {session.Total?.ToString(CultureInfo.InvariantCulture) ?? "unknown"} bytes with {session.Persisted} persisted.");
            }
        }

        if (range.First is { } first && range.Last is { } lastByte)
        {
            long length = lastByte - first + 1;
            bool isFinal = range.Total is { } t && lastByte + 1 == t;
            if (!isFinal && length % ChunkGranularity != 0)
            {
                throw GcsException.BadRequest(
                    $"Invalid request. The number of bytes uploaded is required to be equal or greater than 262144, except for the final request " +
                    $"(it's recommended to be the exact multiple of 262144). The received request contained {length} bytes, which does not meet this requirement.");
            }

            if (first > session.Persisted)
            {
                throw GcsException.BadRequest($"Invalid request: the chunk starts at {first} but only {session.Persisted} bytes are persisted.");
            }

            if (context.Request.ContentLength is { } contentLength && contentLength != length)
            {
                throw GcsException.BadRequest($"Content-Length {contentLength} does not match Content-Range ({length} bytes).");
            }

            // Test hook in the spirit of Google's storage-testbench: fail before reading anything.
            string instruction = context.Request.Headers[InstructionsHeader].ToString();
            if (instruction == "return-503")
            {
                throw new GcsException(503, "backendError", "Injected by x-goog-emulator-instructions: return-503.");
            }

            // Test hook: a stricter server that refuses a chunk re-sending bytes it already persisted.
            if (instruction == "reject-overlap" && first < session.Persisted)
            {
                throw GcsException.BadRequest($"Injected by x-goog-emulator-instructions: reject-overlap ({session.Persisted} bytes are persisted).");
            }

            await AppendChunkAsync(context, session, first, length, cancellationToken);

            // Test hook: GCS may persist fewer bytes than it received; keep one 256 KiB unit less of a non-final chunk.
            if (instruction == "short-308" && !isFinal && session.Persisted - first > ChunkGranularity)
            {
                session.Persisted -= ChunkGranularity;
                await using var file = new FileStream(session.FilePath, FileMode.Open, FileAccess.Write, FileShare.Read, 1, useAsync: true);
                file.SetLength(session.Persisted);
            }
        }

        if (range.Total is { } declared)
        {
            session.Total = declared;
        }

        if (session.Total is { } final && session.Persisted == final)
        {
            ObjectRecord created;
            try
            {
                created = await store.CommitAsync(session.Bucket, session.Spec, session.Preconditions, session.FilePath, cancellationToken);
            }
            catch (GcsException)
            {
                // The bytes are gone with a failed finalize (CommitAsync deleted them): so is the session.
                store.RemoveSession(session.Id);
                throw;
            }

            session.Result = created;
            await WriteJsonAsync(context, 200, ObjectJson(context, created), cancellationToken);
            return;
        }

        // 308 "Resume Incomplete": Range names the persisted bytes and is absent when there are none.
        context.Response.StatusCode = 308;
        if (session.Persisted > 0)
        {
            context.Response.Headers.Range = $"bytes=0-{session.Persisted - 1}";
        }

        context.Response.Headers["X-GUploader-UploadID"] = session.Id;
        context.Response.ContentLength = 0;
    }

    /// <summary>
    /// Streams the chunk to the session file. Bytes below the persisted offset are re-sends and are dropped.
    /// If the body breaks off, only whole 256 KiB units are kept (GCS may persist less than it received).
    /// </summary>
    private async Task AppendChunkAsync(HttpContext context, UploadSession session, long first, long length, CancellationToken cancellationToken)
    {
        long skip = session.Persisted - first;
        long received = 0;
        long written = 0;
        byte[] buffer = new byte[81920];
        await using var file = new FileStream(session.FilePath, FileMode.Open, FileAccess.Write, FileShare.Read, 1, useAsync: true);
        file.SetLength(session.Persisted);
        file.Position = session.Persisted;
        bool complete = false;
        try
        {
            Stream body = context.Request.Body;
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (received + read > length)
                {
                    throw GcsException.BadRequest("The request body is longer than its Content-Range.");
                }

                int from = (int)Math.Clamp(skip - received, 0, read);
                if (from < read)
                {
                    await file.WriteAsync(buffer.AsMemory(from, read - from), cancellationToken);
                    written += read - from;
                }

                received += read;
            }

            if (received != length)
            {
                throw GcsException.BadRequest($"The request body has {received} bytes; its Content-Range announced {length}.");
            }

            complete = true;
            session.Persisted += written;
        }
        finally
        {
            if (!complete)
            {
                long kept = session.Persisted + written;
                session.Persisted = Math.Max(session.Persisted, kept - (kept % ChunkGranularity));
                file.SetLength(session.Persisted);
                Log.ChunkCut(logger, session.Id, session.Persisted);
            }
        }
    }

    private static async Task WriteNewFileAsync(Stream source, string path, CancellationToken cancellationToken)
    {
        try
        {
            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, useAsync: true);
            await source.CopyToAsync(file, 81920, cancellationToken);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    private static ObjectSpec SpecFrom(JsonObject? metadata, string? queryName, string? fallbackContentType)
    {
        string? name = !string.IsNullOrEmpty(queryName) ? queryName : metadata is null ? null : JsonFields.GetString(metadata, "name");
        if (string.IsNullOrEmpty(name))
        {
            throw new GcsException(400, "required", "Required");
        }

        Dictionary<string, string>? userMetadata = null;
        var extra = new Dictionary<string, string>(StringComparer.Ordinal);
        string? contentType = fallbackContentType;
        string? md5 = null;
        string? crc = null;
        if (metadata is not null)
        {
            contentType = JsonFields.GetString(metadata, "contentType") ?? contentType;
            md5 = JsonFields.GetString(metadata, "md5Hash");
            crc = JsonFields.GetString(metadata, "crc32c");
            foreach (string field in ExtraFields)
            {
                if (JsonFields.GetString(metadata, field) is { } value)
                {
                    extra[field] = value;
                }
            }

            if (metadata["metadata"] is JsonObject user)
            {
                userMetadata = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach ((string key, JsonNode? value) in user)
                {
                    if (value is not null)
                    {
                        userMetadata[key] = value.GetValueKind() == System.Text.Json.JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
                    }
                }
            }
        }

        return new ObjectSpec(name, string.IsNullOrEmpty(contentType) ? null : contentType, userMetadata, extra, md5, crc);
    }
}
