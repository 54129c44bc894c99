namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// What a CORS policy of a target allows and exposes: exactly what the three protocols and their browser clients use
/// (tus-js-client in tus-v1 and IETF modes, Uppy's tus plugin, Resumable.js, Flow.js), plus the credentials headers
/// of the auth settings. Listed rather than "*": a wildcard never covers Authorization, and the list documents itself.
/// </summary>
internal static class CorsHeaders
{
    /// <summary>POST/PUT create (and carry Resumable.js chunks), GET/HEAD read offsets and downloads, PATCH appends, DELETE cancels.</summary>
    public static readonly IReadOnlyList<string> Methods = ["POST", "PUT", "GET", "HEAD", "PATCH", "DELETE", "OPTIONS"];

    /// <summary>Request headers a browser may send cross-origin (Content-Type covers non-safelisted media types).</summary>
    public static readonly IReadOnlyList<string> RequestHeaders =
    [
        // tus 1.0 (tus-js-client, Uppy)
        "Tus-Resumable", "Upload-Length", "Upload-Offset", "Upload-Metadata", "Upload-Defer-Length", "Upload-Concat",
        "Upload-Checksum", "X-HTTP-Method-Override", "X-Request-ID",
        // IETF resumable uploads (tus-js-client ietf-draft-03/-05; interop 3 says Upload-Incomplete)
        "Upload-Complete", "Upload-Incomplete", "Upload-Draft-Interop-Version",
        // digests (RFC 9530)
        "Content-Digest", "Repr-Digest", "Want-Repr-Digest", "Want-Content-Digest",
        // Resumable.js / Flow.js (their xhr sends X-Requested-With only when the page adds it) and generic ones
        "Content-Type", "X-Requested-With",
        // credentials of the auth settings (Authorization: Bearer/ApiKey, X-Api-Key)
        "Authorization", "X-Api-Key",
        // ranged downloads
        "Range", "If-Range",
    ];

    /// <summary>Response headers browser scripts may read (the CORS-safelisted ones, e.g. Content-Length, need no entry).</summary>
    public static readonly IReadOnlyList<string> ExposedHeaders =
    [
        "Location", "Upload-Offset", "Upload-Complete", "Upload-Incomplete", "Upload-Length", "Upload-Limit",
        "Upload-Draft-Interop-Version", "Upload-Expires", "Upload-Metadata", "Upload-Concat", "Upload-Defer-Length",
        "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm",
        "Repr-Digest", "Content-Digest", "Retry-After", "WWW-Authenticate",
        // downloads
        "Content-Disposition", "Content-Range", "Accept-Ranges", "ETag",
    ];
}
