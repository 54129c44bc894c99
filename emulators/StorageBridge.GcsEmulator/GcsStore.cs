using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace StorageBridge.GcsEmulator;

/// <summary>Buckets, live objects and resumable sessions; bytes are files under a data folder, never whole arrays.</summary>
public sealed class GcsStore : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, BucketRecord> _buckets = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Bucket, string Name), ObjectRecord> _objects = new();
    private readonly ConcurrentDictionary<string, UploadSession> _sessions = new(StringComparer.Ordinal);
    private readonly bool _ownsRoot;
    private long _lastGeneration;

    public GcsStore(string? dataRoot)
    {
        _ownsRoot = string.IsNullOrEmpty(dataRoot);
        Root = _ownsRoot ? Path.Combine(Path.GetTempPath(), "gcs-emulator-" + Guid.NewGuid().ToString("N")) : dataRoot!;
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string NewFilePath() => Path.Combine(Root, Guid.NewGuid().ToString("N"));

    public BucketRecord CreateBucket(string name, string project)
    {
        lock (_lock)
        {
            if (_buckets.ContainsKey(name))
            {
                throw new GcsException(409, "conflict", "Your previous request to create the named bucket succeeded and you already own it.");
            }

            var bucket = new BucketRecord(name, project, DateTimeOffset.UtcNow);
            _buckets.Add(name, bucket);
            return bucket;
        }
    }

    public BucketRecord GetBucket(string name)
    {
        lock (_lock)
        {
            return _buckets.TryGetValue(name, out BucketRecord? bucket)
                ? bucket
                : throw GcsException.NotFound("The specified bucket does not exist.");
        }
    }

    public void DeleteBucket(string name)
    {
        lock (_lock)
        {
            GetBucket(name);
            if (_objects.Keys.Any(k => k.Bucket == name))
            {
                throw new GcsException(409, "conflict", "The bucket you tried to delete is not empty.");
            }

            _buckets.Remove(name);
        }
    }

    public ObjectRecord? FindObject(string bucket, string name)
    {
        lock (_lock)
        {
            GetBucket(bucket);
            return _objects.GetValueOrDefault((bucket, name));
        }
    }

    public ObjectRecord GetObject(string bucket, string name, long? generation)
    {
        ObjectRecord? found = FindObject(bucket, name);
        if (found is null || (generation is { } g && g != found.Generation))
        {
            throw GcsException.NotFound($"No such object: {bucket}/{name}");
        }

        return found;
    }

    public IReadOnlyList<ObjectRecord> ListObjects(string bucket, string prefix)
    {
        lock (_lock)
        {
            GetBucket(bucket);
            return _objects.Values
                .Where(o => o.Bucket == bucket && o.Name.StartsWith(prefix, StringComparison.Ordinal))
                .OrderBy(o => o.Name, StringComparer.Ordinal)
                .ToList();
        }
    }

    /// <summary>Makes the bytes in <paramref name="tempFile"/> the new live generation if the preconditions hold.</summary>
    public async Task<ObjectRecord> CommitAsync(string bucket, ObjectSpec spec, Preconditions preconditions, string tempFile, CancellationToken cancellationToken)
    {
        // Hash outside the lock; the file is private to this request or session until it is committed.
        (long size, string md5, string crc) = await HashFileAsync(tempFile, cancellationToken);
        if (spec.ExpectedMd5 is { } expectedMd5 && expectedMd5 != md5)
        {
            File.Delete(tempFile);
            throw GcsException.BadRequest($"Provided MD5 hash \"{expectedMd5}\" doesn't match calculated MD5 hash \"{md5}\".");
        }

        if (spec.ExpectedCrc32C is { } expectedCrc && expectedCrc != crc)
        {
            File.Delete(tempFile);
            throw GcsException.BadRequest($"Provided CRC32C \"{expectedCrc}\" doesn't match calculated CRC32C \"{crc}\".");
        }

        ObjectRecord? replaced;
        ObjectRecord created;
        lock (_lock)
        {
            GetBucket(bucket);
            replaced = _objects.GetValueOrDefault((bucket, spec.Name));
            try
            {
                preconditions.Check(replaced);
            }
            catch (GcsException)
            {
                File.Delete(tempFile);
                throw;
            }

            created = new ObjectRecord(bucket, spec, NextGeneration(), 1, size, md5, crc, DateTimeOffset.UtcNow, tempFile);
            _objects[(bucket, spec.Name)] = created;
        }

        // Readers that already opened the old generation keep their handle; the name is gone for new ones.
        if (replaced is not null)
        {
            File.Delete(replaced.FilePath);
        }

        return created;
    }

    public void DeleteObject(string bucket, string name, long? generation, Preconditions preconditions)
    {
        ObjectRecord current;
        lock (_lock)
        {
            current = GetObject(bucket, name, generation);
            preconditions.Check(current);
            _objects.Remove((bucket, name));
        }

        File.Delete(current.FilePath);
    }

    public UploadSession StartSession(string bucket, ObjectSpec spec, Preconditions preconditions)
    {
        GetBucket(bucket);
        var session = new UploadSession(Guid.NewGuid().ToString("N"), bucket, spec, preconditions, NewFilePath());
        File.WriteAllBytes(session.FilePath, []);
        _sessions[session.Id] = session;
        return session;
    }

    public UploadSession? FindSession(string id) => _sessions.GetValueOrDefault(id);

    public bool RemoveSession(string id) => _sessions.TryRemove(id, out _);

    public void Dispose()
    {
        if (_ownsRoot)
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a download may still hold a file open on some platforms.
            }
        }
    }

    private static async Task<(long Size, string Md5, string Crc32C)> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        uint crc = Crc32C.Initial;
        long size = 0;
        byte[] buffer = new byte[81920];
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
        int read;
        while ((read = await file.ReadAsync(buffer, cancellationToken)) > 0)
        {
            md5.AppendData(buffer, 0, read);
            crc = Crc32C.Append(crc, buffer.AsSpan(0, read));
            size += read;
        }

        return (size, Convert.ToBase64String(md5.GetHashAndReset()), Crc32C.ToBase64(Crc32C.Finish(crc)));
    }

    // Generations are microsecond timestamps like Google's, forced to increase.
    private long NextGeneration()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        _lastGeneration = Math.Max(now, _lastGeneration + 1);
        return _lastGeneration;
    }
}
