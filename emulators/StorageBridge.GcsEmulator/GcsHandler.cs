using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;

namespace StorageBridge.GcsEmulator;

/// <summary>
/// Routes the JSON-API subset by hand from the raw request target: object names arrive URL-encoded
/// (a/b as a%2Fb) and must be decoded exactly once, which route templates do not guarantee.
/// </summary>
public sealed partial class GcsHandler(GcsStore store, ILogger<GcsHandler> logger)
{
    private const string JsonContentType = "application/json; charset=UTF-8";

    // Google writes '+', '&' and non-ASCII unescaped; the default encoder would emit \u002B and friends.
    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async Task HandleAsync(HttpContext context)
    {
        long started = Stopwatch.GetTimestamp();
        CancellationToken cancellationToken = context.RequestAborted;
        string target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "/";
        try
        {
            await DispatchAsync(context, target, cancellationToken);
        }
        catch (GcsException e) when (!context.Response.HasStarted)
        {
            await WriteErrorAsync(context, e.Status, e.Reason, e.Message, cancellationToken);
        }
        catch (BadHttpRequestException e) when (!context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted)
        {
            // A body that ended early (or was malformed): whatever arrived has been kept by the handler.
            await WriteErrorAsync(context, 400, "invalid", e.Message, cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or BadHttpRequestException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; whatever arrived has been kept by the handler.
            Log.ClientAborted(logger, context.Request.Method, target);
            return;
        }

        Log.Request(logger, context.Request.Method, target, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private async Task DispatchAsync(HttpContext context, string target, CancellationToken cancellationToken)
    {
        string path = target;
        int query = path.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            path = path[..query];
        }

        // Absolute-form targets (proxies) carry scheme and authority.
        if (path.StartsWith("http", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(path, UriKind.Absolute, out Uri? absolute))
        {
            path = absolute.AbsolutePath;
        }

        string[] segments = path.TrimStart('/').Split('/');
        string method = context.Request.Method;

        if (Matches(segments, "upload", "storage", "v1", "b") && segments.Length == 6 && segments[5] == "o")
        {
            string bucket = Decode(segments[4]);
            if (context.Request.Query.ContainsKey("upload_id"))
            {
                await HandleSessionAsync(context, bucket, cancellationToken);
                return;
            }

            if (method == HttpMethods.Post)
            {
                await InsertAsync(context, bucket, cancellationToken);
                return;
            }
        }
        else if (Matches(segments, "download", "storage", "v1", "b") && segments.Length >= 7 && segments[5] == "o" && method == HttpMethods.Get)
        {
            await DownloadAsync(context, Decode(segments[4]), ObjectName(segments, 6), cancellationToken);
            return;
        }
        else if (Matches(segments, "storage", "v1", "b"))
        {
            await HandleJsonApiAsync(context, segments, cancellationToken);
            return;
        }

        throw GcsException.NotFound($"Not Found: {method} {path}");
    }

    private async Task HandleJsonApiAsync(HttpContext context, string[] segments, CancellationToken cancellationToken)
    {
        string method = context.Request.Method;
        IQueryCollection query = context.Request.Query;
        switch (segments.Length)
        {
            case 3 when method == HttpMethods.Post:
            {
                JsonObject body = await ReadJsonAsync(context, cancellationToken) ?? throw GcsException.BadRequest("Required: bucket resource.");
                string name = JsonFields.GetString(body, "name") is { Length: > 0 } n ? n : throw GcsException.BadRequest("Required: name.");
                BucketRecord bucket = store.CreateBucket(name, query["project"].ToString());
                await WriteJsonAsync(context, 200, BucketJson(bucket), cancellationToken);
                return;
            }

            case 4 when method == HttpMethods.Get:
                await WriteJsonAsync(context, 200, BucketJson(store.GetBucket(Decode(segments[3]))), cancellationToken);
                return;

            case 4 when method == HttpMethods.Delete:
                store.DeleteBucket(Decode(segments[3]));
                context.Response.StatusCode = 204;
                return;

            case 5 when segments[4] == "o" && method == HttpMethods.Get:
                await ListObjectsAsync(context, Decode(segments[3]), cancellationToken);
                return;

            case >= 6 when segments[4] == "o":
            {
                string bucket = Decode(segments[3]);
                string name = ObjectName(segments, 5);
                long? generation = ParseLong(query, "generation");
                if (method == HttpMethods.Get && query["alt"] == "media")
                {
                    await DownloadAsync(context, bucket, name, cancellationToken);
                    return;
                }

                if (method == HttpMethods.Get)
                {
                    ObjectRecord found = store.GetObject(bucket, name, generation);
                    Preconditions.From(query).Check(found);
                    await WriteJsonAsync(context, 200, ObjectJson(context, found), cancellationToken);
                    return;
                }

                if (method == HttpMethods.Delete)
                {
                    store.DeleteObject(bucket, name, generation, Preconditions.From(query));
                    context.Response.StatusCode = 204;
                    return;
                }

                break;
            }
        }

        throw GcsException.NotFound($"Not Found: {method} /{string.Join('/', segments)}");
    }

    private async Task ListObjectsAsync(HttpContext context, string bucket, CancellationToken cancellationToken)
    {
        IQueryCollection query = context.Request.Query;
        string prefix = query["prefix"].ToString();
        string delimiter = query["delimiter"].ToString();
        string pageToken = query["pageToken"].ToString();
        int maxResults = (int)Math.Clamp(ParseLong(query, "maxResults") ?? 1000, 1, 1000);

        var items = new JsonArray();
        var prefixes = new SortedSet<string>(StringComparer.Ordinal);
        string? next = null;
        int count = 0;
        foreach (ObjectRecord o in store.ListObjects(bucket, prefix))
        {
            if (pageToken.Length > 0 && string.CompareOrdinal(o.Name, pageToken) <= 0)
            {
                continue;
            }

            if (count == maxResults)
            {
                next = items.Count > 0 ? ((JsonObject)items[^1]!)["name"]!.GetValue<string>() : null;
                break;
            }

            int cut = delimiter.Length > 0 ? o.Name.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal) : -1;
            if (cut >= 0)
            {
                prefixes.Add(o.Name[..(cut + delimiter.Length)]);
                continue;
            }

            items.Add(ObjectJson(context, o));
            count++;
        }

        var result = new JsonObject { ["kind"] = "storage#objects", ["items"] = items };
        if (prefixes.Count > 0)
        {
            result["prefixes"] = new JsonArray(prefixes.Select(p => (JsonNode?)p).ToArray());
        }

        if (next is not null)
        {
            result["nextPageToken"] = next;
        }

        await WriteJsonAsync(context, 200, result, cancellationToken);
    }

    private async Task DownloadAsync(HttpContext context, string bucket, string name, CancellationToken cancellationToken)
    {
        IQueryCollection query = context.Request.Query;
        ObjectRecord found = store.GetObject(bucket, name, ParseLong(query, "generation"));
        Preconditions.From(query).Check(found);

        HttpResponse response = context.Response;
        response.ContentType = found.ContentType;
        response.Headers.ETag = "\"" + found.ETag + "\"";
        response.Headers.AcceptRanges = "bytes";
        response.Headers.LastModified = found.Created.ToString("R", CultureInfo.InvariantCulture);
        response.Headers["X-Goog-Generation"] = found.Generation.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-Goog-Metageneration"] = found.Metageneration.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-Goog-Hash"] = $"crc32c={found.Crc32CBase64},md5={found.Md5Base64}";
        response.Headers["X-Goog-Stored-Content-Length"] = found.Size.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-Goog-Stored-Content-Encoding"] = "identity";

        long start = 0;
        long length = found.Size;
        string? range = context.Request.Headers.Range;
        // GCS serves an empty object whole (200) whatever the range; otherwise one byte range is honoured.
        if (!string.IsNullOrEmpty(range) && found.Size > 0)
        {
            if (!TryParseRange(range, found.Size, out start, out long end))
            {
                response.Headers.ContentRange = $"bytes */{found.Size}";
                throw new GcsException(416, "requestedRangeNotSatisfiable", "The requested range cannot be satisfied.");
            }

            length = end - start + 1;
            response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {start}-{end}/{found.Size}";
        }
        else
        {
            response.StatusCode = 200;
        }

        response.ContentLength = length;
        if (HttpMethods.IsHead(context.Request.Method) || length == 0)
        {
            return;
        }

        await using var file = new FileStream(found.FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
        file.Position = start;
        byte[] buffer = new byte[81920];
        long remaining = length;
        while (remaining > 0)
        {
            int read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken);
            if (read == 0)
            {
                throw new IOException("Object file shorter than its recorded size.");
            }

            await response.Body.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            remaining -= read;
        }
    }

    /// <summary>One range: bytes=a-b, bytes=a- or bytes=-n (suffix); false when it cannot be satisfied.</summary>
    private static bool TryParseRange(string header, long size, out long start, out long end)
    {
        start = 0;
        end = size - 1;
        if (!header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase) || header.Contains(',', StringComparison.Ordinal))
        {
            throw GcsException.BadRequest($"Unsupported Range: {header}");
        }

        string spec = header[6..].Trim();
        int dash = spec.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            throw GcsException.BadRequest($"Invalid Range: {header}");
        }

        string first = spec[..dash];
        string last = spec[(dash + 1)..];
        if (first.Length == 0)
        {
            long suffix = ParseRangeNumber(last, header);
            if (suffix == 0)
            {
                return false;
            }

            start = Math.Max(0, size - suffix);
            return true;
        }

        start = ParseRangeNumber(first, header);
        if (last.Length > 0)
        {
            end = Math.Min(ParseRangeNumber(last, header), size - 1);
            if (end < start)
            {
                throw GcsException.BadRequest($"Invalid Range: {header}");
            }
        }

        return start < size;
    }

    private static long ParseRangeNumber(string value, string header) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : throw GcsException.BadRequest($"Invalid Range: {header}");

    private static bool Matches(string[] segments, params string[] prefix) =>
        segments.Length >= prefix.Length && prefix.Select((p, i) => segments[i] == p).All(x => x);

    private static string Decode(string segment) => Uri.UnescapeDataString(segment);

    // A name may also arrive with raw slashes (download URLs built by hand): the remaining segments are one name.
    private static string ObjectName(string[] segments, int from)
    {
        string name = string.Join('/', segments[from..].Select(Decode));
        return name.Length > 0 ? name : throw GcsException.BadRequest("Object name is empty.");
    }

    private static long? ParseLong(IQueryCollection query, string key)
    {
        string? value = query[key];
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : throw GcsException.BadRequest($"Invalid value for {key}: {value}");
    }

    /// <summary>The request body, un-gzipped when the client compressed it (the Google SDK gzips JSON bodies).</summary>
    private static Stream RequestBody(HttpContext context) =>
        string.Equals(context.Request.Headers.ContentEncoding, "gzip", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(context.Request.Body, CompressionMode.Decompress, leaveOpen: true)
            : context.Request.Body;

    private static async Task<JsonObject?> ReadJsonAsync(HttpContext context, CancellationToken cancellationToken)
    {
        await using Stream body = RequestBody(context);
        return await ReadJsonAsync(body, cancellationToken);
    }

    private static async Task<JsonObject?> ReadJsonAsync(Stream body, CancellationToken cancellationToken)
    {
        // Metadata is small; cap it so a wrong client cannot make the emulator buffer a large body.
        const int Limit = 2 * 1024 * 1024;
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16384];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > Limit)
            {
                throw new GcsException(413, "uploadTooLarge", "Metadata is too large.");
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(buffer.ToArray()) as JsonObject ?? throw GcsException.BadRequest("Metadata must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw new GcsException(400, "parseError", "Parse Error: " + e.Message);
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, JsonNode body, CancellationToken cancellationToken)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = JsonContentType;
        await context.Response.WriteAsync(body.ToJsonString(JsonOptions), cancellationToken);
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string reason, string message, CancellationToken cancellationToken)
    {
        var error = new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = status,
                ["message"] = message,
                ["errors"] = new JsonArray(new JsonObject { ["message"] = message, ["domain"] = "global", ["reason"] = reason }),
            },
        };
        return WriteJsonAsync(context, status, error, cancellationToken);
    }

    private static JsonObject BucketJson(BucketRecord bucket)
    {
        string time = Rfc3339(bucket.Created);
        return new JsonObject
        {
            ["kind"] = "storage#bucket",
            ["id"] = bucket.Name,
            ["name"] = bucket.Name,
            ["projectNumber"] = "0",
            ["metageneration"] = "1",
            ["location"] = "US",
            ["storageClass"] = "STANDARD",
            ["etag"] = "CAE=",
            ["timeCreated"] = time,
            ["updated"] = time,
        };
    }

    private static JsonObject ObjectJson(HttpContext context, ObjectRecord o)
    {
        string baseUri = $"{context.Request.Scheme}://{context.Request.Host}";
        string bucket = Uri.EscapeDataString(o.Bucket);
        string name = Uri.EscapeDataString(o.Name);
        string generation = o.Generation.ToString(CultureInfo.InvariantCulture);
        string time = Rfc3339(o.Created);
        var json = new JsonObject
        {
            ["kind"] = "storage#object",
            ["id"] = $"{o.Bucket}/{o.Name}/{generation}",
            ["selfLink"] = $"{baseUri}/storage/v1/b/{bucket}/o/{name}",
            ["mediaLink"] = $"{baseUri}/download/storage/v1/b/{bucket}/o/{name}?generation={generation}&alt=media",
            ["name"] = o.Name,
            ["bucket"] = o.Bucket,
            ["generation"] = generation,
            ["metageneration"] = o.Metageneration.ToString(CultureInfo.InvariantCulture),
            ["contentType"] = o.ContentType,
            ["storageClass"] = "STANDARD",
            ["size"] = o.Size.ToString(CultureInfo.InvariantCulture),
            ["md5Hash"] = o.Md5Base64,
            ["crc32c"] = o.Crc32CBase64,
            ["etag"] = o.ETag,
            ["timeCreated"] = time,
            ["updated"] = time,
            ["timeStorageClassUpdated"] = time,
        };
        foreach ((string key, string value) in o.Spec.Extra)
        {
            json[key] = value;
        }

        if (o.Spec.Metadata is { Count: > 0 } metadata)
        {
            var meta = new JsonObject();
            foreach ((string key, string value) in metadata)
            {
                meta[key] = value;
            }

            json["metadata"] = meta;
        }

        return json;
    }

    private static string Rfc3339(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "{Method} {Target} -> {Status} ({ElapsedMs:0.0} ms)")]
        public static partial void Request(ILogger logger, string method, string target, int status, double elapsedMs);

        [LoggerMessage(2, LogLevel.Information, "{Method} {Target}: client aborted the request")]
        public static partial void ClientAborted(ILogger logger, string method, string target);

        [LoggerMessage(3, LogLevel.Information, "Session {SessionId}: kept {Persisted} bytes after an incomplete chunk")]
        public static partial void ChunkCut(ILogger logger, string sessionId, long persisted);
    }
}
