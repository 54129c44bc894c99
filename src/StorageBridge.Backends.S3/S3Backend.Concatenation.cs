using System.Buffers;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.S3;

/// <summary>
/// tus concatenation: the final object is a new multipart upload made of the partial uploads' objects. Where every
/// non-final source is at least 5 MiB, each source becomes a part by UploadPartCopy (S3 copies the bytes itself);
/// otherwise the sources are streamed through one part buffer into UploadPart. Either way the sources stay.
/// </summary>
public sealed partial class S3Backend : IObjectConcatenation
{
    private const long MaxCopyPartSize = 5L * 1024 * MiB;

    private async Task<StoredObject> ConcatenateCoreAsync(BackendUpload upload, IReadOnlyList<string> sourceKeys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(sourceKeys);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        var sizes = new long[sourceKeys.Count];
        for (var i = 0; i < sourceKeys.Count; i++)
        {
            var head = await HeadAsync(sourceKeys[i], cancellationToken).ConfigureAwait(false) ?? throw Missing(sourceKeys[i], null);
            sizes[i] = head.ContentLength;
        }

        var total = sizes.Sum();
        if (total == 0)
        {
            return await CompleteEmptyAsync(upload with { Offset = 0, Parts = [], Tail = null }, cancellationToken).ConfigureAwait(false);
        }

        var copyRanges = options.UploadPartCopy ? CopyRanges(sizes) : null;
        var started = upload with { Session = await StartAsync(upload, cancellationToken).ConfigureAwait(false), Offset = total, Tail = null };
        try
        {
            var parts = copyRanges is not null
                ? await CopyPartsAsync(started, sourceKeys, sizes, copyRanges, cancellationToken).ConfigureAwait(false)
                : await StreamPartsAsync(started, sourceKeys, total, cancellationToken).ConfigureAwait(false);
            Log.Concatenated(logger, upload.Id, sourceKeys.Count, parts.Count, copyRanges is not null ? "UploadPartCopy" : "streamed UploadPart");
            return await CompleteAsync(started with { Parts = parts }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Nothing of the final object may stay behind a failed concatenation.
            await AbortAsync(started, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The parts UploadPartCopy can make: one per source (sources above 5 GiB in equal ranges), or null when a
    /// non-final source is below S3's 5 MiB minimum part size or the parts would exceed MaxParts.
    /// </summary>
    public List<(int Source, long First, long Count)>? CopyRanges(IReadOnlyList<long> sizes)
    {
        var ranges = new List<(int Source, long First, long Count)>();
        for (var i = 0; i < sizes.Count; i++)
        {
            var size = sizes[i];
            if (size < Capabilities.MinPartSize && i < sizes.Count - 1)
            {
                return null;
            }

            if (size == 0)
            {
                continue; // an empty final source adds nothing (and S3 cannot copy an empty range)
            }

            var pieces = (size + MaxCopyPartSize - 1) / MaxCopyPartSize;
            var pieceSize = (size + pieces - 1) / pieces;
            for (long first = 0; first < size; first += pieceSize)
            {
                ranges.Add((i, first, Math.Min(pieceSize, size - first)));
            }
        }

        return ranges.Count <= options.MaxParts ? ranges : null;
    }

    private async Task<List<PartRecord>> CopyPartsAsync(
        BackendUpload upload,
        IReadOnlyList<string> sourceKeys,
        IReadOnlyList<long> sizes,
        List<(int Source, long First, long Count)> ranges,
        CancellationToken cancellationToken)
    {
        var parts = new List<PartRecord>(ranges.Count);
        long offset = 0;
        foreach (var (source, first, count) in ranges)
        {
            var number = parts.Count + 1;
            var request = new CopyPartRequest
            {
                SourceBucket = options.Bucket,
                SourceKey = sourceKeys[source],
                DestinationBucket = options.Bucket,
                DestinationKey = upload.ObjectKey,
                UploadId = SessionOf(upload),
                PartNumber = number,
            };
            if (count != sizes[source])
            {
                // Only a piece of a source above 5 GiB needs a range: S3 takes x-amz-copy-source-range only from sources
                // larger than 5 MB (else 400 InvalidRequest), and a small last partial upload is not.
                request.FirstByte = first;
                request.LastByte = first + count - 1;
            }

            CopyPartResponse response;
            try
            {
                response = await client.CopyPartAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchKey")
            {
                // Deleted since it was checked: the same error as the streaming path gives for a missing source.
                throw Missing(sourceKeys[source], ex);
            }

            if (string.IsNullOrEmpty(response.ETag))
            {
                // A store that treats UploadPartCopy as a plain (empty) UploadPart answers without a CopyPartResult.
                throw new NotSupportedException(
                    $"The S3 store did not copy part {number} of upload {upload.Id} (no CopyPartResult); set UploadPartCopy: false for this target.");
            }

            parts.Add(new PartRecord(number, offset, count, response.ETag, response.ChecksumSHA256));
            offset += count;
        }

        return parts;
    }

    /// <summary>Reads the sources in order through one pooled part buffer and uploads each full buffer as a part.</summary>
    private async Task<List<PartRecord>> StreamPartsAsync(BackendUpload upload, IReadOnlyList<string> sourceKeys, long total, CancellationToken cancellationToken)
    {
        // As the coordinator plans parts: the default size, larger when MaxParts parts would not cover the total.
        var partSize = (int)Math.Min(int.MaxValue, Math.Max(Capabilities.DefaultPartSize, (total + options.MaxParts - 1) / options.MaxParts));
        var buffer = ArrayPool<byte>.Shared.Rent(partSize);
        try
        {
            var parts = new List<PartRecord>();
            long written = 0;
            var filled = 0;
            foreach (var key in sourceKeys)
            {
                await using var source = await OpenReadAsync(key, 0, null, cancellationToken).ConfigureAwait(false);
                int read;
                while ((read = await source.ReadAsync(buffer.AsMemory(filled, partSize - filled), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    filled += read;
                    if (filled == partSize)
                    {
                        parts.Add(await WritePartAsync(upload, parts.Count + 1, written, buffer.AsMemory(0, filled), cancellationToken).ConfigureAwait(false));
                        written += filled;
                        filled = 0;
                    }
                }
            }

            if (filled > 0)
            {
                parts.Add(await WritePartAsync(upload, parts.Count + 1, written, buffer.AsMemory(0, filled), cancellationToken).ConfigureAwait(false));
                written += filled;
            }

            if (written != total)
            {
                throw new InvalidDataException($"Concatenation of upload {upload.Id}: read {written} bytes from the sources, expected {total}.");
            }

            return parts;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Diagnostics.EventIds.S3.Concatenated, Level = LogLevel.Debug, Message = "Upload {UploadId}: {Sources} objects concatenated into {Parts} parts by {Method}")]
        public static partial void Concatenated(ILogger logger, string uploadId, int sources, int parts, string method);
    }
}
