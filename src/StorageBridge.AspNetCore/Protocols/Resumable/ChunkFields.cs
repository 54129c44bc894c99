using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using StorageBridge.AspNetCore.Http;
using StorageBridge.Coordination;

namespace StorageBridge.AspNetCore.Protocols.Resumable;

/// <summary>
/// The Resumable.js (<c>resumable*</c>) or Flow.js (<c>flow*</c>) fields of a chunk request, from the query string and,
/// for multipart bodies, the form fields before the file part. Empty values count as absent (both libraries drop them).
/// </summary>
internal sealed record ChunkFields
{
    public const string ResumablePrefix = "resumable";
    public const string FlowPrefix = "flow";
    public const int MaxTextLength = 1024;

    private static readonly string[] Names =
        ["ChunkNumber", "ChunkSize", "CurrentChunkSize", "TotalSize", "Type", "Identifier", "Filename", "RelativePath", "TotalChunks"];

    public required long ChunkNumber { get; init; }
    public required long ChunkSize { get; init; }
    public required long TotalSize { get; init; }
    public long? CurrentChunkSize { get; init; }
    public long? TotalChunks { get; init; }
    public required string Identifier { get; init; }
    public string? FileName { get; init; }
    public string? ContentType { get; init; }

    /// <summary>Whether the query string marks a chunk request (the multipart form is only read for POSTs).</summary>
    public static bool InQuery(IQueryCollection query) =>
        query.ContainsKey(ResumablePrefix + "ChunkNumber") || query.ContainsKey(FlowPrefix + "ChunkNumber");

    /// <summary>Parses the fields; <paramref name="form"/> holds multipart form fields (null for query-only requests).</summary>
    public static (ChunkFields? Fields, string? Error) Parse(IQueryCollection query, IReadOnlyDictionary<string, string>? form)
    {
        var hasResumable = Has(query, form, ResumablePrefix + "ChunkNumber");
        var hasFlow = Has(query, form, FlowPrefix + "ChunkNumber");
        if (hasResumable == hasFlow)
        {
            return (null, hasResumable
                ? "Send either resumable* or flow* fields, not both."
                : "Missing resumableChunkNumber (or flowChunkNumber).");
        }

        var prefix = hasResumable ? ResumablePrefix : FlowPrefix;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Names)
        {
            var (value, error) = Value(query, form, prefix + name);
            if (error is not null)
            {
                return (null, error);
            }

            if (value is not null)
            {
                values[name] = value;
            }
        }

        long? Number(string name, out string? error)
        {
            error = null;
            if (!values.TryGetValue(name, out var text))
            {
                return null;
            }

            // Digits only: no sign, no spaces, no exponent; 18 digits keep every value far from overflow.
            if (text.Length > 18 || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                error = $"{prefix}{name} must be a non-negative integer.";
                return null;
            }

            return number;
        }

        var chunkNumber = Number("ChunkNumber", out var e1);
        var chunkSize = Number("ChunkSize", out var e2);
        var totalSize = Number("TotalSize", out var e3);
        var current = Number("CurrentChunkSize", out var e4);
        var totalChunks = Number("TotalChunks", out var e5);
        if ((e1 ?? e2 ?? e3 ?? e4 ?? e5) is { } numberError)
        {
            return (null, numberError);
        }

        var missing = chunkSize is null ? "ChunkSize" : totalSize is null ? "TotalSize" : !values.ContainsKey("Identifier") ? "Identifier" : null;
        if (missing is not null)
        {
            return (null, $"Missing {prefix}{missing}.");
        }

        foreach (var name in new[] { "Identifier", "Filename", "RelativePath", "Type" })
        {
            if (values.GetValueOrDefault(name) is { Length: > MaxTextLength })
            {
                return (null, $"{prefix}{name} is longer than {MaxTextLength} characters.");
            }
        }

        // The content type becomes the object's: only a well-formed media type is kept.
        var type = values.GetValueOrDefault("Type");
        if (!StoredContentType.IsStorable(type))
        {
            return (null, $"{prefix}Type: {StoredContentType.RefusalMessage}");
        }

        var contentType = type is not null && MediaTypeHeaderValue.TryParse(type, out var parsed) && parsed.MediaType.HasValue && parsed.MediaType.Value!.Contains('/', StringComparison.Ordinal)
            ? type
            : null;
        return (new ChunkFields
        {
            ChunkNumber = chunkNumber!.Value,
            ChunkSize = chunkSize!.Value,
            TotalSize = totalSize!.Value,
            CurrentChunkSize = current,
            TotalChunks = totalChunks,
            Identifier = values["Identifier"],
            FileName = values.GetValueOrDefault("Filename") ?? FileNameOf(values.GetValueOrDefault("RelativePath")),
            ContentType = contentType,
        }, null);
    }

    public ChunkRequest ToRequest(string target, HttpContext context, long? contentLength) => new()
    {
        Target = target,
        Identifier = Identifier,
        FileName = FileName,
        ContentType = ContentType,
        Principal = Security.UploadPrincipals.OwnerOf(context) ?? "",
        User = Security.UploadPrincipals.PrincipalOf(context),
        ChunkNumber = ChunkNumber,
        ChunkSize = ChunkSize,
        TotalSize = TotalSize,
        CurrentChunkSize = CurrentChunkSize,
        TotalChunks = TotalChunks,
        ContentLength = contentLength,
    };

    private static string? FileNameOf(string? relativePath) =>
        relativePath?.Split('/', '\\')[^1] is { Length: > 0 } name ? name : null;

    private static bool Has(IQueryCollection query, IReadOnlyDictionary<string, string>? form, string name) =>
        query[name].ToString().Length > 0 || form?.GetValueOrDefault(name) is { Length: > 0 };

    /// <summary>One value: the query and the form may both carry it (Resumable.js sends both), but must agree.</summary>
    private static (string? Value, string? Error) Value(IQueryCollection query, IReadOnlyDictionary<string, string>? form, string name)
    {
        var fromQuery = query[name];
        if (fromQuery.Count > 1)
        {
            return (null, $"{name} is given more than once.");
        }

        var q = fromQuery.ToString() is { Length: > 0 } text ? text : null;
        var f = form?.GetValueOrDefault(name) is { Length: > 0 } formText ? formText : null;
        if (q is not null && f is not null && q != f)
        {
            return (null, $"{name} differs between the query string and the form.");
        }

        return (q ?? f, null);
    }
}
