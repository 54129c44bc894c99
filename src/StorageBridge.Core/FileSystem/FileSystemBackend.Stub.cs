using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.FileSystem;

// Temporary stand-in until the real backend lands from its branch.
public sealed record FileSystemBackendOptions
{
    public string Root { get; init; } = "data";
}

public sealed class FileSystemBackend(FileSystemBackendOptions options) : IUploadBackend
{
    public BackendCapabilities Capabilities { get; } = new(0, 1, int.MaxValue, long.MaxValue, 1024 * 1024, false);

    private string Staging(UploadRecord u) => Path.Combine(options.Root, ".staging", u.Id);

    public Task<string?> StartAsync(UploadRecord upload, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public async Task<PartRecord> WritePartAsync(UploadRecord upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Staging(upload));
        using var handle = File.OpenHandle(Path.Combine(Staging(upload), "data"), FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, FileOptions.Asynchronous);
        await RandomAccess.WriteAsync(handle, content, offset, cancellationToken);
        return new PartRecord(partNumber, offset, content.Length);
    }

    public async Task WriteTailAsync(UploadRecord upload, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Staging(upload));
        await File.WriteAllBytesAsync(Path.Combine(Staging(upload), $"tail-{sequence}"), content, cancellationToken);
    }

    public async Task ReadTailAsync(UploadRecord upload, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(Staging(upload), $"tail-{tail.Sequence}"), cancellationToken);
        bytes.AsMemory(0, (int)tail.Size).CopyTo(destination);
    }

    public Task DeleteTailAsync(UploadRecord upload, int sequence, CancellationToken cancellationToken)
    {
        File.Delete(Path.Combine(Staging(upload), $"tail-{sequence}"));
        return Task.CompletedTask;
    }

    public Task<StoredObject> CompleteAsync(UploadRecord upload, CancellationToken cancellationToken)
    {
        var final = Path.Combine(options.Root, upload.ObjectKey);
        var data = Path.Combine(Staging(upload), "data");
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        if (File.Exists(data))
        {
            using (var fs = new FileStream(data, FileMode.Open)) { fs.SetLength(upload.Offset); }
            File.Move(data, final, true);
            Directory.Delete(Staging(upload), true);
        }
        else if (!File.Exists(final))
        {
            File.WriteAllBytes(final, []);
        }

        return Task.FromResult(new StoredObject(upload.ObjectKey, new FileInfo(final).Length, null, null, upload.ContentType));
    }

    public Task AbortAsync(UploadRecord upload, CancellationToken cancellationToken)
    {
        if (Directory.Exists(Staging(upload))) Directory.Delete(Staging(upload), true);
        return Task.CompletedTask;
    }

    public Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken)
    {
        var fs = new FileStream(Path.Combine(options.Root, objectKey), FileMode.Open, FileAccess.Read, FileShare.Read, 81920, true);
        fs.Seek(offset, SeekOrigin.Begin);
        return Task.FromResult<Stream>(fs);
    }

    public Task DeleteObjectAsync(string objectKey, CancellationToken cancellationToken)
    {
        File.Delete(Path.Combine(options.Root, objectKey));
        return Task.CompletedTask;
    }
}
