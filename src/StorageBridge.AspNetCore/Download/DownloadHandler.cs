using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using StorageBridge.AspNetCore.Http;
using StorageBridge.AspNetCore.Security;
using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Download;

/// <summary>
/// <c>GET {prefix}/{target}/{id}/content</c>: the completed object, whole or one byte range (RFC 9110 14.2). Every
/// answer says <c>X-Content-Type-Options: nosniff</c>; active content (<see cref="ActiveContentTypes"/>) is always an
/// attachment under a sandboxing CSP, so an uploaded page never runs in the bridge's origin. A target with
/// <c>Downloads: false</c> answers 404.
/// </summary>
internal sealed class DownloadHandler
{
    /// <summary>No script, no plugin, no same origin, no subresource: what an opened active download may do.</summary>
    public const string SandboxPolicy = "sandbox; default-src 'none'";

    private readonly UploadCoordinator _coordinator;
    private readonly TargetBrowserPolicies _policies;

    public DownloadHandler(UploadCoordinator coordinator, TargetBrowserPolicies policies)
    {
        _coordinator = coordinator;
        _policies = policies;
    }

    public async Task DownloadAsync(HttpContext context, UploadTarget target, string id)
    {
        var response = context.Response;
        response.Headers.XContentTypeOptions = "nosniff";
        if (!_policies.DownloadsEnabled(target.Name))
        {
            await ProblemResults.WriteAsync(
                response, StatusCodes.Status404NotFound, "about:blank", "Not Found", "Downloads are turned off on this target.");
            return;
        }

        var state = await _coordinator.GetAsync(target.Name, id, Security.UploadPrincipals.OwnerOf(context), context.RequestAborted);
        if (state.Outcome != UploadOutcome.Success || state.Upload is not { } upload)
        {
            var gone = state.Outcome == UploadOutcome.Gone;
            await ProblemResults.WriteAsync(
                response, gone ? StatusCodes.Status410Gone : StatusCodes.Status404NotFound, "about:blank",
                gone ? "Gone" : "Not Found", gone ? "The upload was cancelled or has expired." : "No such upload.");
            return;
        }

        if (upload.State != UploadState.Completed)
        {
            await ProblemResults.WriteAsync(
                response, StatusCodes.Status409Conflict, "about:blank", "Conflict",
                $"The upload is not complete ({upload.Offset} bytes so far).");
            return;
        }

        var total = upload.Offset;
        var etag = upload.StoredObject?.ETag is { Length: > 0 } stored ? $"\"{stored.Trim('"')}\"" : $"\"{upload.Id}-{total}\"";
        response.Headers.AcceptRanges = "bytes";
        response.Headers.ETag = etag;
        var contentType = StoredContentType.ForResponse(upload.ContentType);
        response.ContentType = contentType;
        var active = ActiveContentTypes.IsActive(contentType);
        if (upload.FileName is { } || active)
        {
            // RFC 6266: filename (an ASCII fallback) and filename* (UTF-8) when the upload has a name.
            var disposition = new ContentDispositionHeaderValue("attachment");
            if (upload.FileName is { } name)
            {
                disposition.SetHttpFileName(name);
            }

            response.Headers.ContentDisposition = disposition.ToString();
        }

        if (active)
        {
            response.Headers.ContentSecurityPolicy = SandboxPolicy;
        }

        long offset = 0;
        var length = total;
        var range = IfRangeHolds(context.Request, etag) ? ParseRange(context.Request, total) : null;
        if (range is { Satisfiable: false })
        {
            response.Headers.ContentRange = $"bytes */{total.ToString(CultureInfo.InvariantCulture)}";
            await ProblemResults.WriteAsync(response, StatusCodes.Status416RangeNotSatisfiable, "about:blank", "Range Not Satisfiable", null);
            return;
        }

        if (range is { } r)
        {
            (offset, length) = (r.Start, r.Length);
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {offset}-{offset + length - 1}/{total}");
        }

        response.ContentLength = length;
        if (HttpMethods.IsHead(context.Request.Method) || length == 0)
        {
            return;
        }

        var download = await _coordinator.OpenDownloadAsync(target.Name, id, offset, length, Security.UploadPrincipals.OwnerOf(context), context.RequestAborted);
        if (download.Content is null)
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            response.ContentLength = 0;
            return;
        }

        await using var content = download.Content;
        await CopyExactlyAsync(content, response.Body, length, context.RequestAborted);
    }

    private static async Task CopyExactlyAsync(Stream source, Stream destination, long length, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            while (length > 0)
            {
                var read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length)), cancellationToken);
                if (read == 0)
                {
                    throw new IOException("The stored object is shorter than its record says.");
                }

                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                length -= read;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// RFC 9110 13.1.5: a Range is honoured only while If-Range (when sent) still names this representation. An entity
    /// tag matches by strong comparison (a weak one never does); a date would have to equal Last-Modified, which this
    /// resource does not send, so it never matches. When it does not hold, the whole object is sent (200).
    /// </summary>
    private static bool IfRangeHolds(HttpRequest request, string etag)
    {
        if (!request.Headers.TryGetValue(HeaderNames.IfRange, out var values))
        {
            return true;
        }

        return values.Count == 1 && string.Equals(values.ToString().Trim(), etag, StringComparison.Ordinal);
    }

    private readonly record struct ByteRange(long Start, long Length, bool Satisfiable);

    /// <summary>One "bytes=" range, or null to send the whole object (no Range, several ranges, or a malformed one: RFC 9110 allows ignoring).</summary>
    private static ByteRange? ParseRange(HttpRequest request, long total)
    {
        if (!RangeHeaderValue.TryParse(request.Headers.Range.ToString(), out var header)
            || !string.Equals(header.Unit.Value, "bytes", StringComparison.OrdinalIgnoreCase)
            || header.Ranges.Count != 1)
        {
            return null;
        }

        var item = header.Ranges.First();
        if (item.From is long from)
        {
            if (from >= total)
            {
                return new ByteRange(0, 0, false);
            }

            var to = Math.Min(item.To ?? total - 1, total - 1);
            return to < from ? null : new ByteRange(from, to - from + 1, true);
        }

        if (item.To is long suffix)
        {
            if (suffix == 0 || total == 0)
            {
                return new ByteRange(0, 0, false);
            }

            var count = Math.Min(suffix, total);
            return new ByteRange(total - count, count, true);
        }

        return null;
    }
}
