using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.FileSystem;

/// <summary>
/// Tails as files <c>{directory}/{upload id}/tail-{sequence}</c> on this machine, flushed to disk before the engine
/// records them. Small appends then cross to the cloud once (in the part) instead of twice (staging object, then
/// part). As durable as the disk, so only for a single instance whose metadata store lives on the same disk (SQLite):
/// another instance, or a host without a persistent disk (Lambda, Functions), would not find the bytes.
/// </summary>
internal sealed class LocalTailStore : ITailStore
{
    private readonly string _root;

    public LocalTailStore(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        _root = Path.GetFullPath(directory);
        Directory.CreateDirectory(_root);
    }

    public string Root => _root;

    public async Task WriteAsync(string uploadId, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var path = PathOf(uploadId, sequence);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
        await file.WriteAsync(content, cancellationToken).ConfigureAwait(false);
        // On disk before the record that names it is written: a power cut cannot leave a record without its bytes.
        file.Flush(flushToDisk: true);
    }

    public async Task ReadAsync(string uploadId, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tail);
        using var handle = File.OpenHandle(PathOf(uploadId, tail.Sequence), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        var read = 0;
        while (read < tail.Size)
        {
            var n = await RandomAccess.ReadAsync(handle, destination[read..(int)tail.Size], read, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new IOException($"Tail {tail.Sequence} of upload {uploadId} is shorter than {tail.Size} bytes.");
            }

            read += n;
        }
    }

    public Task DeleteAsync(string uploadId, int sequence, CancellationToken cancellationToken)
    {
        File.Delete(PathOf(uploadId, sequence));
        return Task.CompletedTask;
    }

    public Task DeleteAllAsync(string uploadId, CancellationToken cancellationToken)
    {
        var directory = DirectoryOf(uploadId);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        return Task.CompletedTask;
    }

    private string PathOf(string uploadId, int sequence) => Path.Combine(DirectoryOf(uploadId), $"tail-{sequence}");

    private string DirectoryOf(string uploadId)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        // Ids are hex (UploadIds): a separator or ".." must never reach a path.
        if (uploadId.Length == 0 || !uploadId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException($"'{uploadId}' is not an upload id.", nameof(uploadId));
        }

        return Path.Combine(_root, uploadId);
    }
}
