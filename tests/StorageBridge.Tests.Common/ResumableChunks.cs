using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Xunit;

namespace StorageBridge.Tests;

/// <summary>How a Resumable.js / Flow.js client sends its chunks (multipart form, or <c>method: 'octet'</c>).</summary>
public enum ChunkMode
{
    Multipart,
    Octet,
}

/// <summary>The JSON a chunk POST answers with.</summary>
public sealed record ChunkAnswer(string Id, string Location, bool Complete);

/// <summary>Options of <see cref="ResumableChunks.UploadAsync"/>; the defaults are Resumable.js's (3 simultaneous chunks).</summary>
public sealed record ChunkUploadOptions
{
    public string Prefix { get; init; } = "resumable";
    public ChunkMode Mode { get; init; } = ChunkMode.Multipart;
    public int Parallel { get; init; } = 3;

    /// <summary>Shuffle the chunk order with this seed; null sends them in order.</summary>
    public int? ShuffleSeed { get; init; }

    /// <summary>How many chunks are sent a second time (picked from the shuffled order).</summary>
    public int Duplicates { get; init; }

    /// <summary>Flow.js forceChunkSize: ceil(total / chunkSize) chunks, none larger than the chunk size.</summary>
    public bool ForceChunkSize { get; init; }

    public string FileName { get; init; } = "file.bin";
    public string? Identifier { get; init; }
    public string? Type { get; init; }
}

/// <summary>
/// Builds Resumable.js / Flow.js requests the way the libraries do (fields in the query string and, for multipart, in
/// the form before the <c>file</c> part) and drives a whole file through them with several chunks in flight.
/// </summary>
public static class ResumableChunks
{
    public static int ChunkCount(long total, long chunkSize, bool force = false) =>
        (int)Math.Max(force ? (total + chunkSize - 1) / chunkSize : total / chunkSize, 1);

    public static (long Start, long End) Range(int number, long total, long chunkSize, int count) =>
        ((number - 1) * chunkSize, number == count ? total : number * chunkSize);

    /// <summary>The fields of chunk <paramref name="number"/> (names with <paramref name="prefix"/> "resumable" or "flow").</summary>
    public static Dictionary<string, string> Fields(
        string prefix, string identifier, int number, long chunkSize, long total, string fileName, bool force = false, string? type = null)
    {
        var count = ChunkCount(total, chunkSize, force);
        var (start, end) = Range(number, total, chunkSize, count);
        var fields = new Dictionary<string, string>
        {
            [prefix + "ChunkNumber"] = I(number),
            [prefix + "ChunkSize"] = I(chunkSize),
            [prefix + "CurrentChunkSize"] = I(end - start),
            [prefix + "TotalSize"] = I(total),
            [prefix + "Identifier"] = identifier,
            [prefix + "Filename"] = fileName,
            [prefix + "RelativePath"] = fileName,
            [prefix + "TotalChunks"] = I(count),
        };
        if (type is not null && prefix == "resumable")
        {
            fields[prefix + "Type"] = type;
        }

        return fields;
    }

    public static string Query(IReadOnlyDictionary<string, string> fields) =>
        string.Join('&', fields.Select(f => Uri.EscapeDataString(f.Key) + "=" + Uri.EscapeDataString(f.Value)));

    /// <summary>A chunk POST: multipart (fields in query and form, bytes in <c>file</c>) or octet (fields in the query).</summary>
    public static HttpRequestMessage Chunk(string url, IReadOnlyDictionary<string, string> fields, ReadOnlyMemory<byte> bytes, ChunkMode mode)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url + "?" + Query(fields));
        if (mode == ChunkMode.Octet)
        {
            request.Content = new ReadOnlyMemoryContent(bytes);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return request;
        }

        var form = new MultipartFormDataContent();
        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        var file = new ReadOnlyMemoryContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", "blob");
        request.Content = form;
        return request;
    }

    public static HttpRequestMessage Test(string url, IReadOnlyDictionary<string, string> fields) =>
        new(HttpMethod.Get, url + "?" + Query(fields));

    public static async Task<ChunkAnswer> AnswerAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new Xunit.Sdk.XunitException($"Chunk answered {(int)response.StatusCode}: {text}");
        }

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        return new ChunkAnswer(root.GetProperty("id").GetString()!, root.GetProperty("location").GetString()!, root.GetProperty("complete").GetBoolean());
    }

    /// <summary>
    /// Sends every chunk of <paramref name="file"/> to <paramref name="url"/> (the target URL), <see cref="ChunkUploadOptions.Parallel"/>
    /// at a time, in the chosen order, with duplicates; every answer must be 200 for one and the same upload. Returns
    /// the answer that reported completion (there must be one).
    /// </summary>
    public static async Task<ChunkAnswer> UploadAsync(HttpClient client, string url, byte[] file, long chunkSize, ChunkUploadOptions? options = null)
    {
        options ??= new ChunkUploadOptions();
        var identifier = options.Identifier ?? $"{file.Length}-{Guid.NewGuid():N}";
        var count = ChunkCount(file.Length, chunkSize, options.ForceChunkSize);
        var order = Enumerable.Range(1, count).ToList();
        if (options.ShuffleSeed is int seed)
        {
            var random = new Random(seed);
            order = [.. order.OrderBy(_ => random.Next())];
            order.AddRange(order.Take(options.Duplicates).ToList());
        }

        var queue = new Queue<int>(order);
        var answers = new List<ChunkAnswer>();
        async Task WorkerAsync()
        {
            while (true)
            {
                int number;
                lock (queue)
                {
                    if (!queue.TryDequeue(out number))
                    {
                        return;
                    }
                }

                var (start, end) = Range(number, file.Length, chunkSize, count);
                var fields = Fields(options.Prefix, identifier, number, chunkSize, file.Length, options.FileName, options.ForceChunkSize, options.Type);
                using var request = Chunk(url, fields, file.AsMemory((int)start, (int)(end - start)), options.Mode);
                using var response = await client.SendAsync(request);
                var answer = await AnswerAsync(response);
                lock (answers)
                {
                    answers.Add(answer);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, options.Parallel).Select(_ => WorkerAsync()));
        Assert.Single(answers.Select(a => a.Id).Distinct());
        return answers.FirstOrDefault(a => a.Complete) ?? throw new Xunit.Sdk.XunitException("No chunk answer reported the upload complete.");
    }

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);
}
