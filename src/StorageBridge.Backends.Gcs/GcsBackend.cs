using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Google;
using Google.Apis.Upload;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Uploads;
using GcsObject = Google.Apis.Storage.v1.Data.Object;

namespace StorageBridge.Backends.Gcs;

/// <summary>
/// Uploads ride on GCS's own resumable sessions: the session URI is the record's <see cref="BackendUpload.Session"/>,
/// parts are chunks PUT at their offset, and GCS assembles the object itself (no compose, no temporary objects).
/// Non-final chunks are multiples of 256 KiB (the coordinator plans them from <see cref="Capabilities"/>); bytes
/// short of that wait as tails, which are small objects under <see cref="GcsBackendOptions.StagingPrefix"/>.
/// </summary>
/// <remarks>
/// Session requests go through the client's own HTTP pipeline (<c>Service.HttpClient</c>), so credentials, retries
/// and the user agent are the official client's. Session URIs carry their own authorization, as Google documents.
/// </remarks>
public sealed partial class GcsBackend : IAppendBackend, ISessionReconciliation, IDisposable
{
    /// <summary>Google's chunk granularity: every chunk but the last is a multiple of it.</summary>
    public const int ChunkGranularity = 256 * 1024;

    // Bounded: short confirmations and transient failures are rare; a session that keeps failing is broken.
    private const int MaxAttempts = 6;

    /// <summary>Custom metadata every object the bridge writes carries: the id of the upload whose session wrote it.</summary>
    internal const string UploadIdMetadataKey = "storagebridge-upload";

    private readonly StorageClient client;
    private readonly bool ownsClient;
    private readonly GcsBackendOptions options;
    private readonly Uri downloadRoot;
    private readonly ILogger logger;

    public GcsBackend(StorageClient client, GcsBackendOptions options, ILogger<GcsBackend>? logger = null, bool ownsClient = false)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Bucket, nameof(options.Bucket));
        if (options.PartSize <= 0 || options.PartSize % ChunkGranularity != 0)
        {
            throw new ArgumentException($"PartSize must be a positive multiple of {ChunkGranularity}.", nameof(options));
        }

        this.client = client;
        this.ownsClient = ownsClient;
        this.options = options;
        this.logger = logger ?? NullLogger<GcsBackend>.Instance;

        // Downloads use /download/storage/v1/... next to the JSON API's /storage/v1/ (emulators included).
        string baseUri = client.Service.BaseUri;
        const string ApiPath = "storage/v1/";
        downloadRoot = new Uri(baseUri.EndsWith(ApiPath, StringComparison.Ordinal) ? baseUri[..^ApiPath.Length] : baseUri);
        Capabilities = new BackendCapabilities(
            MinPartSize: ChunkGranularity,
            PartAlignment: ChunkGranularity,
            MaxParts: int.MaxValue,
            MaxPartSize: 1L << 30,
            DefaultPartSize: options.PartSize);
    }

    public BackendCapabilities Capabilities { get; }

    /// <summary>Tails as staging objects of this backend; abort and completion remove them with the upload.</summary>
    public ITailStore Tails => tails ??= new StagingTails(this);

    public IObjectConcatenation? Concatenation => null;

    /// <summary>Named in completion events (<see cref="IUploadBackend.ContainerName"/>).</summary>
    public string? ContainerName => options.Bucket;

    /// <summary>GCS sessions confirm chunks before the engine records them: checked after a crash.</summary>
    public ISessionReconciliation? Reconciliation => this;

    /// <summary>The official client, for what this backend does not cover.</summary>
    public StorageClient NativeClient => client;

    private async Task<string?> StartCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var destination = new GcsObject
        {
            Bucket = options.Bucket,
            Name = upload.ObjectKey,
            ContentType = upload.ContentType,
            // The upload's id marks the object as this session's: an answer about any other object is never taken for it.
            Metadata = new Dictionary<string, string>(upload.Metadata) { [UploadIdMetadataKey] = upload.Id },
        };
        var uploadOptions = new UploadObjectOptions { IfGenerationMatch = options.AllowOverwrite ? null : 0 };

        // A non-seekable empty source: the initiation must not announce a length (X-Upload-Content-Length).
        var uploader = client.CreateObjectUploader(destination, new UnknownLengthStream(), uploadOptions);
        try
        {
            Uri session = await uploader.InitiateSessionAsync(cancellationToken).ConfigureAwait(false);
            return session.AbsoluteUri;
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.PreconditionFailed)
        {
            // ifGenerationMatch=0 (AllowOverwrite false) and the object exists: GCS checks it at initiation already.
            throw new ObjectExistsException($"Object '{upload.ObjectKey}' exists in bucket '{options.Bucket}' and the target does not allow overwriting it.", e);
        }
    }

    private async Task WriteCoreAsync(BackendUpload upload, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        Uri session = SessionOf(upload);
        long end = offset + content.Length;
        if (content.Length == 0)
        {
            return;
        }

        // An unaligned chunk can only be the last one; an aligned one is last when it reaches the known length.
        bool isFinal = content.Length % ChunkGranularity != 0 || upload.Length == end;
        string total = isFinal ? end.ToString(CultureInfo.InvariantCulture) : "*";
        long position = offset;
        for (int attempt = 0; ; attempt++)
        {
            long persisted;
            using (var request = new HttpRequestMessage(HttpMethod.Put, session))
            {
                request.Content = new ReadOnlyMemoryContent(content[(int)(position - offset)..]);
                request.Content.Headers.TryAddWithoutValidation("Content-Range", $"bytes {position}-{end - 1}/{total}");
                HttpResponseMessage? response = null;
                try
                {
                    response = await client.Service.HttpClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
                }
                catch (HttpRequestException e) when (attempt < MaxAttempts && !cancellationToken.IsCancellationRequested)
                {
                    // Connection lost mid-chunk: GCS may have kept part of it; ask before sending again.
                    Log.Retrying(logger, upload.Id, e.Message);
                }

                using (response)
                {
                    if (response is { IsSuccessStatusCode: true })
                    {
                        // The object exists: this chunk completed it, or (re-sent after a crash) an earlier final chunk did.
                        await CheckCompletedAsync(response, upload, end, exact: isFinal, cancellationToken).ConfigureAwait(false);
                        return;
                    }

                    if (response is not null && (int)response.StatusCode == 308)
                    {
                        persisted = PersistedBytes(response);
                    }
                    else if (response is null || (IsTransient(response.StatusCode) && attempt < MaxAttempts))
                    {
                        // Google's guidance for 5xx/429 on a chunk: back off, query the session, resume from there.
                        if (response is not null)
                        {
                            Log.Retrying(logger, upload.Id, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
                        }

                        await Task.Delay(TimeSpan.FromMilliseconds(100 << attempt), cancellationToken).ConfigureAwait(false);
                        persisted = await QueryPersistedAsync(session, cancellationToken).ConfigureAwait(false);
                    }
                    else if (response.StatusCode == HttpStatusCode.BadRequest && attempt < MaxAttempts
                        && await QueryPersistedAsync(session, cancellationToken).ConfigureAwait(false) is var held && held > position)
                    {
                        // The chunk re-sends bytes GCS already holds (a record behind its session after a crash); the
                        // emulator and GCS ignore those, but should a server refuse the overlap, go on from what it holds.
                        persisted = held;
                    }
                    else if (response.StatusCode == HttpStatusCode.PreconditionFailed)
                    {
                        // The final chunk finalizes: an object that appeared under the key meanwhile fails ifGenerationMatch=0.
                        throw new ObjectExistsException($"Object '{upload.ObjectKey}' appeared in bucket '{options.Bucket}' during the upload; it is not replaced.");
                    }
                    else
                    {
                        throw await SessionFailureAsync(response, "chunk", cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            if (persisted >= end)
            {
                return;
            }

            // GCS confirmed fewer bytes than were sent: send the rest again from where it stopped.
            if (persisted < offset || attempt >= MaxAttempts)
            {
                throw new IOException($"GCS session holds {persisted} bytes after a chunk {offset}-{end - 1} (attempt {attempt + 1}).");
            }

            if (persisted != position)
            {
                Log.ShortWrite(logger, upload.Id, persisted, end);
            }

            position = persisted;
        }
    }

    /// <summary>
    /// What the session holds now (<c>bytes */*</c>), to reconcile a record with GCS after a crash: GCS may have
    /// confirmed a chunk whose record write never happened. Null when the session is gone (cancelled or expired).
    /// </summary>
    public async Task<GcsSessionState?> QuerySessionAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        using HttpResponseMessage response = await SendIdempotentAsync(() => StatusQuery(SessionOf(upload), "bytes */*"), "status query", cancellationToken)
            .ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            string json = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            StoredObject stored = ToStored(client.Service.Serializer.Deserialize<GcsObject>(json));
            return new GcsSessionState(stored.Length, stored);
        }

        if ((int)response.StatusCode == 308)
        {
            return new GcsSessionState(PersistedBytes(response), null);
        }

        return response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone
            ? null
            : throw await FailureAsync(response, "status query", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reconciles a record left by an append that never finished with what the session holds. Bytes beyond the record
    /// are not adopted: the client re-sends them from the recorded offset and GCS ignores what it already persisted.
    /// </summary>
    private async Task<SessionCheck> CheckSessionCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        GcsSessionState? state = await QuerySessionAsync(upload, cancellationToken).ConfigureAwait(false);
        if (state is null)
        {
            return SessionCheck.Gone;
        }

        if (state.Persisted < upload.PartsLength)
        {
            // GCS never confirms less than it later holds: bytes the record calls durable are missing.
            throw new IOException($"GCS session of upload {upload.Id} holds {state.Persisted} bytes; the record has {upload.PartsLength} in chunks.");
        }

        if (state.Persisted > upload.PartsLength)
        {
            Log.SessionAhead(logger, upload.Id, state.Persisted, upload.PartsLength);
        }

        return state.Completed is null ? SessionCheck.Consistent : SessionCheck.Completed;
    }

    /// <summary>
    /// Sends a request that may be repeated unchanged (status query, finalize, cancel). A connection lost on one of
    /// them says nothing about the session, so it is asked again on a fresh connection, with the chunks' backoff.
    /// </summary>
    private async Task<HttpResponseMessage> SendIdempotentAsync(Func<HttpRequestMessage> newRequest, string what, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            using HttpRequestMessage request = newRequest();
            try
            {
                return await client.Service.HttpClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (attempt < MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                Log.RequestRetrying(logger, what, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100 << attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static HttpRequestMessage StatusQuery(Uri session, string contentRange)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = new ByteArrayContent([]) };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
        return request;
    }

    /// <summary>
    /// A 200 on a chunk carries the object: it must be this upload's (<see cref="CheckOwnObject"/>) and hold exactly
    /// (final chunk) or at least the bytes up to <paramref name="end"/>.
    /// </summary>
    private async Task CheckCompletedAsync(HttpResponseMessage response, BackendUpload upload, long end, bool exact, CancellationToken cancellationToken)
    {
        string json = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        GcsObject? answered = client.Service.Serializer.Deserialize<GcsObject>(json);
        CheckOwnObject(answered, upload, exact ? end : null, "final chunk");
        long size = (long)(answered?.Size ?? 0);
        if (!exact && size < end)
        {
            throw new IOException($"GCS completed the object of upload {upload.Id} with {size} bytes; the chunk ends at {end}.");
        }
    }

    /// <summary>
    /// An object GCS answered with is recorded as this upload's only when it is: the upload's key in this bucket, a
    /// generation, the upload's id in its metadata (set when the session started), and <paramref name="length"/> bytes
    /// when known. Anything else (a foreign object under the key, an answer about another object) fails the call, so the
    /// upload is not recorded complete.
    /// </summary>
    private GcsObject CheckOwnObject(GcsObject? answered, BackendUpload upload, long? length, string what)
    {
        string? problem = answered switch
        {
            null => "no object",
            { Name: var name } when !string.Equals(name, upload.ObjectKey, StringComparison.Ordinal) => $"object '{name}'",
            { Bucket: { } bucket } when !string.Equals(bucket, options.Bucket, StringComparison.Ordinal) => $"an object in bucket '{bucket}'",
            { Generation: null } => "an object without a generation",
            _ when UploadIdOf(answered) != upload.Id =>
                $"generation {answered.Generation}, which another writer stored (its {UploadIdMetadataKey} is '{UploadIdOf(answered)}')",
            _ when length is long expected && (long)(answered.Size ?? 0) != expected => $"generation {answered.Generation} of {answered.Size} bytes, not {expected}",
            _ => null,
        };
        if (problem is not null)
        {
            Log.ForeignObject(logger, upload.Id, what, problem);
            throw new StorageBackendException(
                $"GCS bucket {options.Bucket}",
                isTransient: false,
                statusCode: null,
                errorCode: "foreignObject",
                new IOException($"GCS answered the {what} of upload {upload.Id} (key '{upload.ObjectKey}') with {problem}; it is not recorded as this upload's object."));
        }

        return answered!;
    }

    /// <summary>Bytes the session holds (<c>bytes */*</c>); long.MaxValue once it completed.</summary>
    private async Task<long> QueryPersistedAsync(Uri session, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendIdempotentAsync(() => StatusQuery(session, "bytes */*"), "status query", cancellationToken)
            .ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return long.MaxValue;
        }

        return (int)response.StatusCode == 308
            ? PersistedBytes(response)
            : throw await SessionFailureAsync(response, "status query", cancellationToken).ConfigureAwait(false);
    }

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.RequestTimeout;

    private async Task WriteTailCoreAsync(string uploadId, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);

        // One simple (uploadType=media) request: tails are written on every short append, so the two round trips
        // of the client's resumable UploadObject would double their latency.
        var uri = new Uri(downloadRoot,
            $"upload/storage/v1/b/{Uri.EscapeDataString(options.Bucket)}/o?uploadType=media&name={Uri.EscapeDataString(TailName(uploadId, sequence))}");
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ReadOnlyMemoryContent(content) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using HttpResponseMessage response = await client.Service.HttpClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await FailureAsync(response, "tail write", cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ReadTailCoreAsync(string uploadId, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        ArgumentNullException.ThrowIfNull(tail);
        await using Stream stream = await OpenReadAsync(TailName(uploadId, tail.Sequence), 0, null, cancellationToken).ConfigureAwait(false);
        int read = 0;
        while (read < tail.Size)
        {
            int n = await stream.ReadAsync(destination[read..(int)tail.Size], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new IOException($"Tail {tail.Sequence} of upload {uploadId} is shorter than {tail.Size} bytes.");
            }

            read += n;
        }
    }

    private Task DeleteTailCoreAsync(string uploadId, int sequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        return DeleteObjectAsync(TailName(uploadId, sequence), cancellationToken);
    }

    private async Task<StoredObject> CompleteCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        Uri session = SessionOf(upload);
        long total = upload.PartsLength;

        // A status query naming the total finalizes a session holding all bytes, and answers the object again
        // when it already completed (the retry after a crash between the commit and the record write).
        string range = $"bytes */{total}";
        using HttpResponseMessage response = await SendIdempotentAsync(() => StatusQuery(session, range), "finalize", cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            string json = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return ToStored(CheckOwnObject(client.Service.Serializer.Deserialize<GcsObject>(json), upload, total, "finalize"));
        }

        if ((int)response.StatusCode == 308)
        {
            throw new IOException($"GCS session holds {PersistedBytes(response)} bytes; the upload has {total}.");
        }

        if (response.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            // An object appeared under the key after initiation (ifGenerationMatch=0 is checked again at finalize).
            throw new ObjectExistsException($"Object '{upload.ObjectKey}' appeared in bucket '{options.Bucket}' during the upload; it is not replaced.");
        }

        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            // The session is gone (expired or forgotten after completion): the object itself is the answer.
            // Only an object this upload's session wrote is adopted, never another writer's of the same size.
            GcsObject? existing = await TryGetObjectAsync(upload.ObjectKey, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                return ToStored(CheckOwnObject(existing, upload, total, "finalize (session gone)"));
            }
        }

        throw await SessionFailureAsync(response, "finalize", cancellationToken).ConfigureAwait(false);
    }

    private async Task AbortCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        if (upload.Session is { Length: > 0 })
        {
            Uri session = SessionOf(upload);
            using HttpResponseMessage response = await SendIdempotentAsync(() => new HttpRequestMessage(HttpMethod.Delete, session), "cancel", cancellationToken)
                .ConfigureAwait(false);
            // 499 is Google's answer to a cancel; 404/410: already cancelled or expired.
            if (!response.IsSuccessStatusCode && (int)response.StatusCode is not (499 or 404 or 410))
            {
                throw await FailureAsync(response, "cancel", cancellationToken).ConfigureAwait(false);
            }
        }

        var sequences = Enumerable.Range(1, upload.TailSequence).ToHashSet();
        if (upload.Tail is { } tail)
        {
            sequences.UnionWith(tail.Objects.Select(o => o.Sequence));
        }

        foreach (int sequence in sequences)
        {
            await DeleteTailCoreAsync(upload.Id, sequence, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<Stream> OpenReadCoreAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken)
    {
        GcsObject found = await TryGetObjectAsync(objectKey, cancellationToken).ConfigureAwait(false)
            ?? throw new FileNotFoundException($"No object '{objectKey}' in bucket '{options.Bucket}'.", objectKey);
        long size = (long)(found.Size ?? 0);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, size);
        long count = length ?? size - offset;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, size - offset, nameof(length));
        if (count == 0)
        {
            return new MemoryStream([], writable: false);
        }

        // The generation pins the read to the object just looked up, even if it is replaced meanwhile.
        var uri = new Uri(downloadRoot,
            $"download/storage/v1/b/{Uri.EscapeDataString(options.Bucket)}/o/{Uri.EscapeDataString(objectKey)}?alt=media&generation={found.Generation}");
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Range = new RangeHeaderValue(offset, offset + count - 1);
        HttpResponseMessage response = await client.Service.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
            .ConfigureAwait(false);
        request.Dispose();
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            response.Dispose();
            throw new FileNotFoundException($"No object '{objectKey}' in bucket '{options.Bucket}'.", objectKey);
        }

        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw await FailureAsync(response, "download", cancellationToken).ConfigureAwait(false);
            }
        }

        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return new ResponseStream(response, body);
    }

    private async Task DeleteObjectCoreAsync(string objectKey, CancellationToken cancellationToken)
    {
        try
        {
            await client.DeleteObjectAsync(options.Bucket, objectKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            // Missing objects are not an error.
        }
    }

    public void Dispose()
    {
        if (ownsClient)
        {
            client.Dispose();
        }
    }

    private static Uri SessionOf(BackendUpload upload) =>
        upload.Session is { Length: > 0 } session ? new Uri(session) : throw new InvalidOperationException($"Upload {upload.Id} has no GCS session.");

    /// <summary>N+1 from <c>Range: bytes=0-N</c> on a 308; 0 when the header is absent (nothing persisted).</summary>
    private static long PersistedBytes(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Range", out IEnumerable<string>? values))
        {
            return 0;
        }

        string value = values.First();
        int dash = value.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && long.TryParse(value[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out long last)
            ? last + 1
            : throw new IOException($"Unexpected Range header from GCS: {value}");
    }

    /// <summary>Like <see cref="FailureAsync"/>, but 404/410 on a session request means the session itself is gone.</summary>
    private static async Task<Exception> SessionFailureAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return new UploadSessionGoneException($"GCS {what}: the resumable session is gone ({(int)response.StatusCode}; expired or cancelled): {body}");
        }

        return await FailureAsync(response, what, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<Exception> FailureAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            return new FileNotFoundException($"GCS {what}: not found ({(int)response.StatusCode}; an expired or cancelled session, or a missing bucket): {body}");
        }

        return new HttpRequestException($"GCS {what} failed with {(int)response.StatusCode}: {body}", null, response.StatusCode);
    }

    private async Task<GcsObject?> TryGetObjectAsync(string objectKey, CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetObjectAsync(options.Bucket, objectKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static string? UploadIdOf(GcsObject stored) =>
        stored.Metadata is { } metadata && metadata.TryGetValue(UploadIdMetadataKey, out string? id) ? id : null;

    private string TailName(string uploadId, int sequence) =>
        $"{options.StagingPrefix}{uploadId}/tail-{sequence.ToString(CultureInfo.InvariantCulture)}";

    private static StoredObject ToStored(GcsObject o) =>
        new(o.Name, (long)(o.Size ?? 0), ETag: o.Generation?.ToString(CultureInfo.InvariantCulture), Checksum: o.Crc32c is null ? null : "crc32c=" + o.Crc32c, ContentType: o.ContentType);

    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.Gcs.ShortWrite, LogLevel.Warning, "Upload {UploadId}: GCS persisted {Persisted} of {End} bytes; re-sending the rest")]
        public static partial void ShortWrite(ILogger logger, string uploadId, long persisted, long end);

        [LoggerMessage(Diagnostics.EventIds.Gcs.Retrying, LogLevel.Warning, "Upload {UploadId}: chunk failed ({Reason}); querying the session to resume")]
        public static partial void Retrying(ILogger logger, string uploadId, string reason);

        [LoggerMessage(Diagnostics.EventIds.Gcs.SessionAhead, LogLevel.Information, "Upload {UploadId}: GCS holds {Persisted} bytes, the record {Recorded}; the client re-sends the rest and GCS ignores what it has")]
        public static partial void SessionAhead(ILogger logger, string uploadId, long persisted, long recorded);

        [LoggerMessage(Diagnostics.EventIds.Gcs.ForeignObject, LogLevel.Error, "Upload {UploadId}: GCS answered the {Request} with {Problem}; the upload is not recorded complete")]
        public static partial void ForeignObject(ILogger logger, string uploadId, string request, string problem);

        [LoggerMessage(Diagnostics.EventIds.Gcs.RequestRetrying, LogLevel.Warning, "GCS {Request} lost its connection ({Reason}); asking again")]
        public static partial void RequestRetrying(ILogger logger, string request, string reason);
    }

    /// <summary>An empty, non-seekable source: the uploader only initiates the session and must not send a length.</summary>
    private sealed class UnknownLengthStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => 0;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A download body that releases its HTTP response when disposed.</summary>
    private sealed class ResponseStream(HttpResponseMessage response, Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                response.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
