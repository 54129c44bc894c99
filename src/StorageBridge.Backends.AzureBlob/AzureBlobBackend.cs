using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.AzureBlob;

/// <summary>
/// Uploads land as block blobs: every part is a StageBlock on the final blob with a fixed-length block id derived
/// from the upload id and the part number, and completion is one CommitBlockList of the recorded ids in order.
/// Tails (remainders below <see cref="AzureBlobBackendOptions.MinBlockSize"/>) are small staging blobs
/// <c>.storagebridge-staging/{uploadId}/tail-{sequence}</c>; <c>.storagebridge-staging/{uploadId}/live</c> marks an
/// upload that was started and neither completed nor aborted.
/// </summary>
/// <remarks>
/// Stateless: everything is derived from the record, so any instance can continue any upload. Uncommitted blocks
/// cannot be deleted through the API; an aborted upload's blocks are discarded by the service after 7 days, by the
/// next CommitBlockList on the same blob name (which drops every block it does not list), or never matter because
/// the live marker is gone and completion refuses to commit them. Keys contain the upload id ({id} is required in
/// every key template), so two uploads never stage blocks on the same blob name.
/// </remarks>
public sealed partial class AzureBlobBackend : IMultipartBackend, IObjectConcatenation
{
    /// <summary>Reserved top-level prefix for staging blobs; object keys may not start with it.</summary>
    public const string StagingPrefix = ".storagebridge-staging/";

    /// <summary>Blob metadata naming the upload that committed the blob: lets a completion retry recognise its own blob.</summary>
    public const string UploadIdMetadataKey = "storagebridge_upload_id";

    private const int BlockIdHashBytes = 16;

    private const int MaxBlocks = 50_000;

    /// <summary>Largest block a concatenation re-stages: it is the one buffer a concatenation holds.</summary>
    internal const long MaxConcatenationBlockSize = 100L * 1024 * 1024;

    private readonly BlobContainerClient container;
    private readonly AzureBlobBackendOptions options;
    private readonly ILogger logger;
    private readonly BackendCapabilities capabilities;
    private volatile Task? containerReady;

    public AzureBlobBackend(BlobContainerClient container, AzureBlobBackendOptions options, ILogger<AzureBlobBackend>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MinBlockSize, nameof(options.MinBlockSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BlockSize, 1, nameof(options.BlockSize));
        this.container = container;
        this.options = options;
        this.logger = logger ?? NullLogger<AzureBlobBackend>.Instance;
        capabilities = new BackendCapabilities(
            MinPartSize: options.MinBlockSize,
            PartAlignment: 1,
            MaxParts: MaxBlocks,
            MaxPartSize: 4000L * 1024 * 1024,
            DefaultPartSize: (int)Math.Max(options.BlockSize, options.MinBlockSize),
            MaxTailSegments: options.MaxTailSegments);
    }

    public BackendCapabilities Capabilities => capabilities;

    /// <summary>Tails as staging objects of this backend; abort and completion remove them with the upload.</summary>
    public ITailStore Tails => tails ??= new StagingTails(this);

    public IObjectConcatenation? Concatenation => this;

    /// <summary>Named in completion events (<see cref="IUploadBackend.ContainerName"/>).</summary>
    public string? ContainerName => container.Name;

    /// <summary>The container this backend writes to.</summary>
    public BlobContainerClient Container => container;

    /// <summary>
    /// Block id of a part: base64 of 16 bytes of SHA-256(upload id) and the part number as 4 big-endian bytes.
    /// Always 28 characters, so every id on a blob has the same length as the service requires; the upload id in it
    /// keeps two uploads' blocks apart even if they ever met on one blob name.
    /// </summary>
    public static string BlockId(string uploadId, int partNumber)
    {
        ArgumentException.ThrowIfNullOrEmpty(uploadId);
        ArgumentOutOfRangeException.ThrowIfLessThan(partNumber, 1);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(uploadId), hash);
        Span<byte> id = stackalloc byte[BlockIdHashBytes + sizeof(int)];
        hash[..BlockIdHashBytes].CopyTo(id);
        BinaryPrimitives.WriteInt32BigEndian(id[BlockIdHashBytes..], partNumber);
        return Convert.ToBase64String(id);
    }

    private async Task<string?> StartCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ValidateObjectKey(upload.ObjectKey);
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        await container.GetBlobClient(LivePath(upload)).UploadAsync(BinaryData.Empty, overwrite: true, cancellationToken).ConfigureAwait(false);
        return null;
    }

    private async Task<PartRecord> WritePartCoreAsync(
        BackendUpload upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentOutOfRangeException.ThrowIfLessThan(partNumber, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);

        var blockId = BlockId(upload.Id, partNumber);
        // Restaging an id replaces its bytes, which is exactly "an unrecorded write is replaced by the next one".
        // BinaryData wraps the caller's buffer: no copy of the part.
        using var body = BinaryData.FromBytes(content).ToStream();
        await BlockBlob(upload.ObjectKey).StageBlockAsync(blockId, body, options: null, cancellationToken).ConfigureAwait(false);
        return new PartRecord(partNumber, offset, content.Length, ETag: blockId);
    }

    private async Task WriteTailCoreAsync(string uploadId, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        // Overwrite: a retry under the same (not yet recorded) sequence replaces the earlier bytes.
        await container.GetBlobClient(TailPath(uploadId, sequence))
            .UploadAsync(BinaryData.FromBytes(content), overwrite: true, cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task ReadTailCoreAsync(string uploadId, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        ArgumentNullException.ThrowIfNull(tail);
        if (destination.Length < tail.Size)
        {
            throw new ArgumentException($"Destination holds {destination.Length} bytes; the tail has {tail.Size}.", nameof(destination));
        }

        var path = TailPath(uploadId, tail.Sequence);
        try
        {
            var response = await container.GetBlobClient(path).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await using var stream = response.Value.Content;
            await stream.ReadExactlyAsync(destination[..(int)tail.Size], cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new FileNotFoundException($"Tail {tail.Sequence} of upload '{uploadId}' does not exist.", path, ex);
        }
    }

    private async Task DeleteTailCoreAsync(string uploadId, int sequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        await container.GetBlobClient(TailPath(uploadId, sequence)).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task<StoredObject> CompleteCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ValidateObjectKey(upload.ObjectKey);
        var blob = BlockBlob(upload.ObjectKey);

        // No live marker: completed before (a retry after a crash between the commit and the metadata write), or
        // aborted. Only the first may answer with the blob, and only if it is ours.
        if (!await ExistsAsync(container.GetBlobClient(LivePath(upload)), cancellationToken).ConfigureAwait(false))
        {
            return await OwnBlobAsync(upload, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException(
                    $"Upload '{upload.Id}' cannot be completed: it was never started or was aborted, and no blob of {upload.Offset} bytes committed by it exists at '{upload.ObjectKey}'.");
        }

        var blockIds = upload.Parts.Select(p => BlockId(upload.Id, p.Number)).ToList();
        if (upload.Tail is { Size: > 0 } tail)
        {
            // The coordinator writes the tail as the last part before completing; should a record still carry one,
            // the object is parts plus tail, so stage the tail as the final block rather than lose it.
            var number = upload.Parts.Count + 1;
            var buffer = new byte[tail.Size];
            var position = 0;
            foreach (var piece in tail.Objects)
            {
                await ReadTailCoreAsync(upload.Id, piece, buffer.AsMemory(position, (int)piece.Size), cancellationToken).ConfigureAwait(false);
                position += (int)piece.Size;
            }

            using var body = new MemoryStream(buffer, writable: false);
            await blob.StageBlockAsync(BlockId(upload.Id, number), body, options: null, cancellationToken).ConfigureAwait(false);
            blockIds.Add(BlockId(upload.Id, number));
        }

        var commit = CommitOptions(upload);
        StoredObject stored;
        try
        {
            var committed = await blob.CommitBlockListAsync(blockIds, commit, cancellationToken).ConfigureAwait(false);
            stored = new StoredObject(upload.ObjectKey, upload.Offset, committed.Value.ETag.ToString(), ContentType: commit.HttpHeaders.ContentType);
        }
        catch (RequestFailedException ex) when (!options.AllowOverwrite && ex.Status is 409 or 412)
        {
            // Either our own commit whose answer was lost (the retry of a timed-out request, or a crash before the
            // marker was removed), or somebody else's blob that must not be replaced.
            stored = await OwnBlobAsync(upload, cancellationToken).ConfigureAwait(false) ?? throw RefuseOverwrite(upload, ex);
        }

        await DeleteStagingAsync(upload, cancellationToken).ConfigureAwait(false);
        return stored;
    }

    /// <summary>
    /// tus concatenation: the final blob is built from the sources' committed blobs, each read in block-sized ranges
    /// (conditional on the source's ETag, so a source replaced meanwhile fails the concatenation instead of mixing
    /// versions) and staged as a block of the final blob, then committed with one Put Block List. Memory is one block.
    /// Put Block From URL would let the service copy the ranges itself, but Azurite 3.35.0 does not implement it
    /// (its handler throws NotImplemented), so the bytes pass through here. The sources are left in place.
    /// </summary>
    private async Task<StoredObject> ConcatenateCoreAsync(BackendUpload upload, IReadOnlyList<string> sourceKeys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(sourceKeys);
        ValidateObjectKey(upload.ObjectKey);
        var sources = new List<(BlobClient Blob, long Length, ETag ETag)>(sourceKeys.Count);
        foreach (var key in sourceKeys)
        {
            ValidateObjectKey(key);
            var blob = container.GetBlobClient(key);
            try
            {
                var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
                sources.Add((blob, properties.ContentLength, properties.ETag));
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                throw new FileNotFoundException($"Source object '{key}' of upload '{upload.Id}' does not exist.", key, ex);
            }
        }

        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var blockSize = ConcatenationBlockSize(sources.Select(s => s.Length), options.BlockSize);
        var target = BlockBlob(upload.ObjectKey);
        var blockIds = new List<string>();
        var largest = sources.Count == 0 ? 0 : sources.Max(s => s.Length);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(1, Math.Min(blockSize, largest)));
        try
        {
            foreach (var (blob, length, etag) in sources)
            {
                for (var offset = 0L; offset < length; offset += blockSize)
                {
                    var count = (int)Math.Min(blockSize, length - offset);
                    var range = new BlobDownloadOptions { Range = new HttpRange(offset, count), Conditions = new BlobRequestConditions { IfMatch = etag } };
                    var download = await blob.DownloadStreamingAsync(range, cancellationToken).ConfigureAwait(false);
                    await using (download.Value.Content.ConfigureAwait(false))
                    {
                        await download.Value.Content.ReadExactlyAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                    }

                    var blockId = BlockId(upload.Id, blockIds.Count + 1);
                    using var body = new MemoryStream(buffer, 0, count, writable: false);
                    await target.StageBlockAsync(blockId, body, options: null, cancellationToken).ConfigureAwait(false);
                    blockIds.Add(blockId);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var commit = CommitOptions(upload);
        try
        {
            var committed = await target.CommitBlockListAsync(blockIds, commit, cancellationToken).ConfigureAwait(false);
            return new StoredObject(upload.ObjectKey, upload.Offset, committed.Value.ETag.ToString(), ContentType: commit.HttpHeaders.ContentType);
        }
        catch (RequestFailedException ex) when (!options.AllowOverwrite && ex.Status is 409 or 412)
        {
            // The SDK's retry of a commit whose answer was lost finds the blob it committed; anything else is refused.
            return await OwnBlobAsync(upload, cancellationToken).ConfigureAwait(false) ?? throw RefuseOverwrite(upload, ex);
        }
    }

    /// <summary>
    /// Block size of a concatenation of blobs of the given lengths: the target's block size, grown so that the
    /// blocks (each source cut separately) stay within 50,000.
    /// </summary>
    internal static long ConcatenationBlockSize(IEnumerable<long> lengths, long blockSize)
    {
        var sizes = lengths.ToList();
        for (var size = Math.Max(1, blockSize); ; size *= 2)
        {
            if (sizes.Sum(length => (length + size - 1) / size) <= MaxBlocks)
            {
                return size;
            }

            if (size * 2 > MaxConcatenationBlockSize)
            {
                throw new InvalidOperationException(
                    $"{sizes.Count} objects of {sizes.Sum()} bytes in all do not fit {MaxBlocks} blocks of at most {MaxConcatenationBlockSize} bytes.");
            }
        }
    }

    private async Task AbortCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        // Only staging blobs: a committed blob is never deleted here (DeleteObjectAsync does that). Staged blocks
        // cannot be deleted individually; without the live marker they can never be committed and expire in 7 days.
        await DeleteStagingAsync(upload, cancellationToken).ConfigureAwait(false);
    }

    private async Task<Stream> OpenReadCoreAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken)
    {
        ValidateObjectKey(objectKey);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is { } requested)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(requested, nameof(length));
        }

        var blob = container.GetBlobClient(objectKey);
        try
        {
            if (length == 0 || offset > 0)
            {
                // A range starting at the end answers 416 on Azure; check the size first so the end reads as empty.
                var size = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.ContentLength;
                if (offset > size)
                {
                    throw new ArgumentOutOfRangeException(nameof(offset), offset, $"Object '{objectKey}' has only {size} bytes.");
                }

                if (length == 0 || offset == size)
                {
                    return new MemoryStream([], writable: false);
                }
            }

            var download = new BlobDownloadOptions { Range = offset == 0 && length is null ? default : new HttpRange(offset, length) };
            var response = await blob.DownloadStreamingAsync(download, cancellationToken).ConfigureAwait(false);
            return response.Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new FileNotFoundException($"Object '{objectKey}' does not exist.", objectKey, ex);
        }
    }

    private async Task DeleteObjectCoreAsync(string objectKey, CancellationToken cancellationToken)
    {
        ValidateObjectKey(objectKey);
        await container.GetBlobClient(objectKey)
            .DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Names of the staging blobs of an upload (live marker and tails) that currently exist.</summary>
    public async Task<IReadOnlyList<string>> ListStagingAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var names = new List<string>();
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = StagingFolder(upload.Id) }, cancellationToken).ConfigureAwait(false))
        {
            names.Add(item.Name);
        }

        return names;
    }

    private async Task DeleteStagingAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        // Listing rather than 1..TailSequence+1 also finds a tail written under a sequence that was never recorded.
        // The live marker goes last, so a crash half-way leaves an upload that can still be aborted or completed.
        var live = LivePath(upload);
        foreach (var name in await ListStagingAsync(upload, cancellationToken).ConfigureAwait(false))
        {
            if (name != live)
            {
                await container.GetBlobClient(name).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }

        await container.GetBlobClient(live).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private CommitBlockListOptions CommitOptions(BackendUpload upload) => new()
    {
        HttpHeaders = new BlobHttpHeaders { ContentType = upload.ContentType ?? "application/octet-stream" },
        Metadata = BlobMetadata(upload),
        // If-None-Match: * makes the service refuse to replace a blob that exists (409 BlobAlreadyExists).
        Conditions = options.AllowOverwrite ? null : new BlobRequestConditions { IfNoneMatch = ETag.All },
    };

    private ObjectExistsException RefuseOverwrite(BackendUpload upload, RequestFailedException cause)
    {
        Log.RefusedOverwrite(logger, upload.Id, upload.ObjectKey);
        return new ObjectExistsException(
            $"Upload '{upload.Id}' cannot be completed: a blob already exists at '{upload.ObjectKey}' in container '{container.Name}' and the target does not allow overwrite (AllowOverwrite: false).",
            cause);
    }

    /// <summary>The blob at the upload's key if this upload committed it (marker matches, length equals the offset).</summary>
    private async Task<StoredObject?> OwnBlobAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        try
        {
            var properties = (await container.GetBlobClient(upload.ObjectKey).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            if (properties.ContentLength != upload.Offset
                || !properties.Metadata.TryGetValue(UploadIdMetadataKey, out var owner)
                || owner != upload.Id)
            {
                return null;
            }

            Log.FoundCommittedBlob(logger, upload.Id, upload.ObjectKey);
            return new StoredObject(upload.ObjectKey, properties.ContentLength, properties.ETag.ToString(), ContentType: properties.ContentType);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    private static async Task<bool> ExistsAsync(BlobClient blob, CancellationToken cancellationToken) =>
        (await blob.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;

    private Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (!options.CreateContainerIfMissing)
        {
            return Task.CompletedTask;
        }

        // Once per backend; a failed attempt is retried by the next upload.
        var ready = containerReady;
        if (ready is null || ready.IsFaulted || ready.IsCanceled)
        {
            ready = containerReady = container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        return ready;
    }

    private static Dictionary<string, string> BlobMetadata(BackendUpload upload)
    {
        var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in upload.Metadata)
        {
            // Metadata names must be C# identifiers and values travel as ASCII header values.
            if (MetadataName(key) is { } name)
            {
                metadata[name] = HeaderSafe(value);
            }
        }

        if (upload.FileName is { Length: > 0 } fileName)
        {
            metadata["filename"] = HeaderSafe(fileName);
        }

        metadata[UploadIdMetadataKey] = upload.Id;
        return metadata;
    }

    private static string? MetadataName(string key)
    {
        var builder = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        }

        if (builder.Length == 0)
        {
            return null;
        }

        if (char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }

        return builder.ToString();
    }

    private static string HeaderSafe(string value) =>
        value.All(c => c is >= ' ' and <= '~') && value.Trim() == value ? value : Uri.EscapeDataString(value);

    private BlockBlobClient BlockBlob(string objectKey) => container.GetBlockBlobClient(objectKey);

    private static string StagingFolder(string id)
    {
        if (string.IsNullOrEmpty(id) || id.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Upload id '{id}' cannot be used in a blob name.", nameof(id));
        }

        return StagingPrefix + id + "/";
    }

    private static string LivePath(BackendUpload upload) => StagingFolder(upload.Id) + "live";

    private static string TailPath(string uploadId, int sequence) =>
        StagingFolder(uploadId) + "tail-" + sequence.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static void ValidateObjectKey(string objectKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(objectKey);
        if (objectKey.StartsWith(StagingPrefix, StringComparison.Ordinal) || objectKey.Length > 1024)
        {
            throw new ArgumentException($"Object key '{objectKey}' uses the reserved prefix '{StagingPrefix}' or is longer than 1024 characters.", nameof(objectKey));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Diagnostics.EventIds.AzureBlob.FoundCommittedBlob, Level = LogLevel.Information, Message = "Upload {UploadId}: blob {ObjectKey} was already committed by this upload; completion is a retry")]
        public static partial void FoundCommittedBlob(ILogger logger, string uploadId, string objectKey);

        [LoggerMessage(EventId = Diagnostics.EventIds.AzureBlob.RefusedOverwrite, Level = LogLevel.Warning, Message = "Upload {UploadId}: refusing to replace the existing blob {ObjectKey} (AllowOverwrite is false)")]
        public static partial void RefusedOverwrite(ILogger logger, string uploadId, string objectKey);
    }
}
