using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.S3;

/// <summary>
/// One upload = one S3 multipart upload in the target's bucket; the S3 UploadId is the record's session and the part
/// list (number, ETag, SHA-256) lives in the metadata store, so nothing here depends on ListParts or
/// ListMultipartUploads. Tails (bytes short of the 5 MiB minimum part) are staging objects
/// <c>{Prefix}.storagebridge-staging/{id}/tail-{sequence}</c> in the same bucket.
/// </summary>
/// <remarks>
/// Stateless apart from the client: any instance can continue any upload from its record. Every part carries an
/// <c>x-amz-checksum-sha256</c> that S3 verifies before it stores the part, and the same checksum is repeated in
/// CompleteMultipartUpload.
/// </remarks>
public sealed partial class S3Backend : IMultipartBackend, IDisposable
{
    private const long MiB = 1024 * 1024;
    private const int DeleteBatch = 1000; // DeleteObjects limit per request

    /// <summary>Parts of one append uploaded while the next is read from the request, unless the target sets MaxConcurrentParts.</summary>
    public const int DefaultConcurrentParts = 2;

    private readonly IAmazonS3 client;
    private readonly bool ownsClient;
    private readonly S3BackendOptions options;
    private readonly ILogger logger;
    private readonly Lock bucketLock = new();
    private Task? bucketReady;

    public S3Backend(IAmazonS3 client, S3BackendOptions options, ILogger<S3Backend>? logger = null, bool ownsClient = true)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Bucket, nameof(options.Bucket));
        this.client = client;
        this.options = options;
        this.ownsClient = ownsClient;
        this.logger = logger ?? NullLogger<S3Backend>.Instance;
        Capabilities = new BackendCapabilities(
            MinPartSize: 5 * MiB,
            PartAlignment: 1,
            MaxParts: options.MaxParts,
            MaxPartSize: 5 * 1024 * MiB,
            DefaultPartSize: (int)(8 * MiB),
            MaxTailSegments: options.MaxTailSegments,
            DefaultConcurrentParts: DefaultConcurrentParts);
        bucketReady = options.CreateBucketIfMissing ? null : Task.CompletedTask;
    }

    public BackendCapabilities Capabilities { get; }

    /// <summary>Tails as staging objects of this backend; abort and completion remove them with the upload.</summary>
    public ITailStore Tails => tails ??= new StagingTails(this);

    public IObjectConcatenation? Concatenation => this;

    /// <summary>Named in completion events (<see cref="IUploadBackend.ContainerName"/>).</summary>
    public string? ContainerName => options.Bucket;

    public S3BackendOptions Options => options;

    public IAmazonS3 Client => client;

    /// <summary>Key of a tail staging object.</summary>
    public string TailKey(string uploadId, int sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"{options.StagingPrefix}{uploadId}/tail-{sequence}");

    private async Task<string?> StartCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        var request = new InitiateMultipartUploadRequest
        {
            BucketName = options.Bucket,
            Key = upload.ObjectKey,
            ContentType = ContentTypeOf(upload),
            // Parts carry SHA-256 checksums; S3 requires the algorithm to be declared when the upload is created.
            ChecksumAlgorithm = ChecksumAlgorithm.SHA256,
        };
        AddMetadata(request.Metadata, upload);
        var response = await client.InitiateMultipartUploadAsync(request, cancellationToken).ConfigureAwait(false);
        Log.Started(logger, upload.Id, upload.ObjectKey, response.UploadId);
        return response.UploadId;
    }

    private async Task<PartRecord> WritePartCoreAsync(
        BackendUpload upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentOutOfRangeException.ThrowIfLessThan(partNumber, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partNumber, options.MaxParts);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var uploadId = SessionOf(upload);
        var checksum = Sha256Base64(content.Span);
        using var body = ReadOnlyStream(content);
        var response = await client.UploadPartAsync(
            new UploadPartRequest
            {
                BucketName = options.Bucket,
                Key = upload.ObjectKey,
                UploadId = uploadId,
                PartNumber = partNumber,
                InputStream = body,
                PartSize = content.Length,
                // Sent as x-amz-checksum-sha256: S3 rejects the part (BadDigest) if the bytes it got differ.
                ChecksumSHA256 = checksum,
                UseChunkEncoding = UseChunkEncoding,
            },
            cancellationToken).ConfigureAwait(false);
        return new PartRecord(partNumber, offset, content.Length, response.ETag, response.ChecksumSHA256 ?? checksum);
    }

    private async Task WriteTailCoreAsync(string uploadId, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        using var body = ReadOnlyStream(content);
        // A plain PUT replaces any object under the key, so a retry of an unrecorded sequence overwrites the old bytes.
        await client.PutObjectAsync(
            new PutObjectRequest
            {
                BucketName = options.Bucket,
                Key = TailKey(uploadId, sequence),
                InputStream = body,
                AutoCloseStream = false,
                ChecksumSHA256 = Sha256Base64(content.Span),
                ContentType = "application/octet-stream",
                UseChunkEncoding = UseChunkEncoding,
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async Task ReadTailCoreAsync(string uploadId, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        ArgumentNullException.ThrowIfNull(tail);
        if (destination.Length < tail.Size)
        {
            throw new ArgumentException($"Destination holds {destination.Length} bytes; the tail has {tail.Size}.", nameof(destination));
        }

        if (tail.Size == 0)
        {
            return;
        }

        var key = TailKey(uploadId, tail.Sequence);
        try
        {
            using var response = await client.GetObjectAsync(options.Bucket, key, cancellationToken).ConfigureAwait(false);
            if (response.ContentLength != tail.Size)
            {
                throw new InvalidDataException($"Tail {key} holds {response.ContentLength} bytes; the record says {tail.Size}.");
            }

            await response.ResponseStream.ReadExactlyAsync(destination[..(int)tail.Size], cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (IsNotFound(ex))
        {
            throw new FileNotFoundException($"Tail {key} of upload {uploadId} is missing.", key, ex);
        }
    }

    private async Task DeleteTailCoreAsync(string uploadId, int sequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        await DeleteIfExistsAsync(TailKey(uploadId, sequence), cancellationToken).ConfigureAwait(false);
    }

    private async Task<StoredObject> CompleteCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        if (upload.Tail is not null)
        {
            throw new InvalidOperationException($"Upload {upload.Id} still has a tail; the coordinator writes it as the final part first.");
        }

        var partsLength = upload.Parts.Sum(p => p.Size);
        if (partsLength != upload.Offset)
        {
            throw new InvalidOperationException($"Upload {upload.Id}: recorded parts hold {partsLength} bytes, the offset is {upload.Offset}.");
        }

        if (upload.Parts.Count == 0)
        {
            return await CompleteEmptyAsync(upload, cancellationToken).ConfigureAwait(false);
        }

        var request = new CompleteMultipartUploadRequest
        {
            BucketName = options.Bucket,
            Key = upload.ObjectKey,
            UploadId = SessionOf(upload),
            PartETags = [.. upload.Parts.OrderBy(p => p.Number).Select(p => new PartETag { PartNumber = p.Number, ETag = p.ETag, ChecksumSHA256 = p.Checksum })],
        };
        try
        {
            var response = await client.CompleteMultipartUploadAsync(request, cancellationToken).ConfigureAwait(false);
            if (MultipartETagPartCount(response.ETag) is int committed && committed != upload.Parts.Count)
            {
                // A multipart ETag ends in "-{parts}". A store that dropped parts it could not parse (fauxqs does,
                // silently) would otherwise leave a truncated object behind a successful completion.
                throw new InvalidDataException(
                    $"Upload {upload.Id}: the store committed {committed} parts of {upload.Parts.Count} (ETag {response.ETag}).");
            }

            Log.Completed(logger, upload.Id, upload.ObjectKey, upload.Parts.Count, upload.Offset);
            return new StoredObject(upload.ObjectKey, upload.Offset, NormalizeETag(response.ETag), response.ChecksumSHA256, ContentTypeOf(upload));
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchUpload")
        {
            // Completed before (a crash between the commit and the metadata write) or aborted: only an object of the
            // expected length under the key counts as "already done". ListParts is not needed (and fauxqs lacks it).
            var existing = await HeadAsync(upload.ObjectKey, cancellationToken).ConfigureAwait(false);
            if (existing is { } head && head.ContentLength == upload.Offset)
            {
                return new StoredObject(upload.ObjectKey, head.ContentLength, NormalizeETag(head.ETag), head.ChecksumSHA256, head.Headers.ContentType);
            }

            throw new InvalidOperationException($"Multipart upload of {upload.Id} no longer exists and no object of {upload.Offset} bytes is at {upload.ObjectKey}.", ex);
        }
    }

    /// <summary>Every staging object of an upload, found by listing its folder (one LIST, usually empty).</summary>
    private async Task DeleteAllTailsCoreAsync(string uploadId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(uploadId);
        var request = new ListObjectsV2Request { BucketName = options.Bucket, Prefix = string.Concat(options.StagingPrefix, uploadId, "/") };
        var keys = new List<string>();
        do
        {
            var page = await client.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);

        if (keys.Count > 0)
        {
            await DeleteManyAsync(keys, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task AbortCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        if (upload.Session is { Length: > 0 } uploadId)
        {
            try
            {
                await client.AbortMultipartUploadAsync(
                    new AbortMultipartUploadRequest { BucketName = options.Bucket, Key = upload.ObjectKey, UploadId = uploadId },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchUpload" || ex.StatusCode == HttpStatusCode.NotFound)
            {
                // Already aborted or completed: nothing staged in the multipart upload any more.
            }
        }

        // Every tail ever written is in 1..TailSequence, plus one that may have been written but not yet recorded.
        var keys = Enumerable.Range(1, upload.TailSequence + 1).Select(seq => TailKey(upload.Id, seq)).ToList();
        await DeleteManyAsync(keys, cancellationToken).ConfigureAwait(false);
        Log.Aborted(logger, upload.Id, keys.Count);
    }

    private async Task<Stream> OpenReadCoreAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(objectKey);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        if (length == 0)
        {
            // S3 has no empty range; the object must still exist.
            _ = await HeadAsync(objectKey, cancellationToken).ConfigureAwait(false) ?? throw Missing(objectKey, null);
            return Stream.Null;
        }

        var request = new GetObjectRequest { BucketName = options.Bucket, Key = objectKey };
        if (offset > 0 || length is not null)
        {
            request.ByteRange = length is long count ? new ByteRange(offset, offset + count - 1) : new ByteRange($"bytes={offset.ToString(CultureInfo.InvariantCulture)}-");
        }

        try
        {
            var response = await client.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
            return new ResponseStream(response);
        }
        catch (AmazonS3Exception ex) when (IsNotFound(ex))
        {
            throw Missing(objectKey, ex);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable || ex.ErrorCode == "InvalidRange")
        {
            // A range starting at the end of the object (or an empty object): empty, if the object exists.
            _ = await HeadAsync(objectKey, cancellationToken).ConfigureAwait(false) ?? throw Missing(objectKey, ex);
            return Stream.Null;
        }
    }

    private Task DeleteObjectCoreAsync(string objectKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(objectKey);
        return DeleteIfExistsAsync(objectKey, cancellationToken);
    }

    public void Dispose()
    {
        if (ownsClient)
        {
            client.Dispose();
        }
    }

    // ---- helpers ----

    private async Task<StoredObject> CompleteEmptyAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        // S3 rejects a multipart upload without parts: write the empty object directly, then drop the upload.
        // Repeating this is harmless (same empty object), which keeps completion idempotent.
        var put = new PutObjectRequest
        {
            BucketName = options.Bucket,
            Key = upload.ObjectKey,
            ContentType = ContentTypeOf(upload),
            InputStream = new MemoryStream([], writable: false),
        };
        AddMetadata(put.Metadata, upload);
        var response = await client.PutObjectAsync(put, cancellationToken).ConfigureAwait(false);
        await AbortAsync(upload, cancellationToken).ConfigureAwait(false);
        return new StoredObject(upload.ObjectKey, 0, NormalizeETag(response.ETag), null, ContentTypeOf(upload));
    }

    private async Task DeleteManyAsync(List<string> keys, CancellationToken cancellationToken)
    {
        if (keys.Count <= 2)
        {
            // One or two DELETEs are cheaper than a DeleteObjects round trip with its XML body.
            foreach (var key in keys)
            {
                await DeleteIfExistsAsync(key, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        for (var start = 0; start < keys.Count; start += DeleteBatch)
        {
            var batch = keys.Skip(start).Take(DeleteBatch).Select(k => new KeyVersion { Key = k }).ToList();
            var response = await client.DeleteObjectsAsync(
                new DeleteObjectsRequest { BucketName = options.Bucket, Objects = batch, Quiet = true },
                cancellationToken).ConfigureAwait(false);
            if (response.DeleteErrors is { Count: > 0 } errors && errors.Any(e => e.Code != "NoSuchKey"))
            {
                throw new IOException($"Deleting staging objects failed: {errors[0].Key}: {errors[0].Code} {errors[0].Message}");
            }
        }
    }

    private async Task DeleteIfExistsAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await client.DeleteObjectAsync(options.Bucket, key, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (IsNotFound(ex))
        {
            // S3 answers 204 for missing keys; some compatible stores answer 404. Either way it is gone.
        }
    }

    private async Task<GetObjectMetadataResponse?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetObjectMetadataAsync(options.Bucket, key, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (IsNotFound(ex))
        {
            return null;
        }
    }

    private Task EnsureReadyAsync(CancellationToken cancellationToken)
    {
        Task ready;
        lock (bucketLock)
        {
            // Created once; a failed attempt (store not reachable yet) is retried by the next upload, not cached.
            if (bucketReady is null || bucketReady.IsFaulted || bucketReady.IsCanceled)
            {
                bucketReady = EnsureBucketAsync();
            }

            ready = bucketReady;
        }

        return ready.IsCompletedSuccessfully ? Task.CompletedTask : ready.WaitAsync(cancellationToken);
    }

    private async Task EnsureBucketAsync()
    {
        try
        {
            await client.PutBucketAsync(new PutBucketRequest { BucketName = options.Bucket }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
        }
    }

    private static string SessionOf(BackendUpload upload) =>
        upload.Session is { Length: > 0 } session
            ? session
            : throw new InvalidOperationException($"Upload {upload.Id} has no S3 multipart upload id.");

    private static string ContentTypeOf(BackendUpload upload) =>
        upload.ContentType is { Length: > 0 } type && IsHeaderSafe(type) ? type : "application/octet-stream";

    /// <summary>User metadata as x-amz-meta-* headers: keys reduced to [a-z0-9-], values percent-encoded outside printable ASCII.</summary>
    private static void AddMetadata(MetadataCollection metadata, BackendUpload upload)
    {
        foreach (var (name, value) in upload.Metadata)
        {
            var key = SafeMetadataKey(name);
            if (key.Length > 0)
            {
                metadata[key] = SafeMetadataValue(value);
            }
        }

        if (upload.FileName is { Length: > 0 } fileName && metadata["filename"] is null)
        {
            metadata["filename"] = SafeMetadataValue(fileName);
        }
    }

    internal static string SafeMetadataKey(string name) =>
        string.Concat(name.ToLowerInvariant().Where(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_'));

    internal static string SafeMetadataValue(string value) =>
        IsHeaderSafe(value) ? value : Uri.EscapeDataString(value);

    private static bool IsHeaderSafe(string value) => value.All(c => c is >= ' ' and <= '~');

    internal static int? MultipartETagPartCount(string? etag)
    {
        var text = NormalizeETag(etag);
        var dash = text?.LastIndexOf('-') ?? -1;
        return dash > 0 && int.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : null;
    }

    private static string? NormalizeETag(string? etag) => etag?.Trim('"');

    private static bool IsNotFound(AmazonS3Exception ex) =>
        ex.StatusCode == HttpStatusCode.NotFound || ex.ErrorCode is "NoSuchKey" or "NotFound";

    private static FileNotFoundException Missing(string key, Exception? inner) => new($"No object at {key}.", key, inner);

    private static string Sha256Base64(ReadOnlySpan<byte> content) => Convert.ToBase64String(SHA256.HashData(content));

    /// <summary>A read-only view over the caller's (pooled) buffer: no copy, seekable so the SDK can retry.</summary>
    // The bytes are in memory already: hashing the whole payload once for the signature beats aws-chunked signing,
    // which frames and HMACs every 80 KiB through a wrapper stream (S3 bench on fauxqs, same run: 8 MiB appends 0.89x
    // vs 0.82x of the SDK, peak RSS with 16 uploads 255 vs 266 MiB).
    private const bool UseChunkEncoding = false;

    private static MemoryStream ReadOnlyStream(ReadOnlyMemory<byte> content) =>
        MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);

    /// <summary>The body of a GetObject response; disposing it releases the response (and its connection).</summary>
    private sealed class ResponseStream(GetObjectResponse response) : Stream
    {
        private readonly Stream inner = response.ResponseStream;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Flush()
        {
        }

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

    private static partial class Log
    {
        [LoggerMessage(EventId = Diagnostics.EventIds.S3.Started, Level = LogLevel.Debug, Message = "Upload {UploadId}: multipart upload {S3UploadId} started for {ObjectKey}")]
        public static partial void Started(ILogger logger, string uploadId, string objectKey, string s3UploadId);

        [LoggerMessage(EventId = Diagnostics.EventIds.S3.Completed, Level = LogLevel.Debug, Message = "Upload {UploadId}: {ObjectKey} committed from {Parts} parts, {Length} bytes")]
        public static partial void Completed(ILogger logger, string uploadId, string objectKey, int parts, long length);

        [LoggerMessage(EventId = Diagnostics.EventIds.S3.Aborted, Level = LogLevel.Debug, Message = "Upload {UploadId}: multipart upload aborted, {TailKeys} staging keys deleted")]
        public static partial void Aborted(ILogger logger, string uploadId, int tailKeys);
    }
}
