using System.Net;
using System.Security.Cryptography;
using Xunit;
using static StorageBridge.Tests.ResumableChunks;

namespace StorageBridge.Tests;

/// <summary>
/// A second client that guesses a file's identifier (the libraries' default is size-name) sends its own bytes for
/// chunk numbers first; the owner's real chunks of those numbers must then be refused with a status Resumable.js 1.1.0
/// and Flow.js 2.14.1 stop on (400: in Resumable.js's permanentErrors [400, 404, 415, 500, 501]; Flow.js retries
/// nothing by default, maxChunkRetries: 0), never answered "stored". Identical duplicates stay 200. Shared by the
/// ordered path (file target) and the direct-parts path (S3, Azure).
/// </summary>
public static class ChunkHijackScenario
{
    /// <summary>
    /// A file of <paramref name="chunkCount"/> chunks of <paramref name="chunkSize"/> bytes. The intruder sends chunk 1
    /// (at the offset) and the last chunk (ahead of it); then the owner sends every chunk, the last one twice. The
    /// object completes holding exactly the bytes that were accepted: the intruder's for those two chunks.
    /// </summary>
    public static async Task RunAsync(HttpClient client, string url, int chunkSize, int chunkCount, ChunkMode mode)
    {
        var owner = new byte[chunkSize * chunkCount];
        new Random(chunkSize + chunkCount).NextBytes(owner);
        var intruder = (byte[])owner.Clone();
        intruder[0] ^= 0xFF;                 // chunk 1 differs in one byte
        intruder[^1] ^= 0x01;                // the last chunk differs in one bit
        var identifier = $"{owner.Length}-report.pdf-{Guid.NewGuid():N}";

        HttpRequestMessage ChunkOf(byte[] file, int number)
        {
            var (start, end) = Range(number, file.Length, chunkSize, chunkCount);
            return Chunk(url, Fields("resumable", identifier, number, chunkSize, file.Length, "report.pdf"), file.AsMemory((int)start, (int)(end - start)), mode);
        }

        foreach (var number in new[] { chunkCount, 1 }.Distinct())
        {
            using var response = await client.SendAsync(ChunkOf(intruder, number));
            Assert.Equal(chunkCount == 1, (await AnswerAsync(response)).Complete);
        }

        ChunkAnswer? completed = null;
        foreach (var number in Enumerable.Range(1, chunkCount).Append(chunkCount))
        {
            using var response = await client.SendAsync(ChunkOf(owner, number));
            if (number == 1 || number == chunkCount)
            {
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"chunk {number}: {(int)response.StatusCode} {text}");
                Assert.Contains("differs", text, StringComparison.Ordinal);
                continue;
            }

            var answer = await AnswerAsync(response);
            completed = answer.Complete ? answer : completed;
        }

        // The intruder's own copies are identical duplicates of what is stored: 200, as before.
        using (var again = await client.SendAsync(ChunkOf(intruder, 1)))
        {
            completed = await AnswerAsync(again) is { Complete: true } answer ? answer : completed;
        }

        Assert.NotNull(completed);
        using var download = await client.GetAsync(completed.Location + "/content");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        var stored = await download.Content.ReadAsByteArrayAsync();
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(intruder)), Convert.ToHexStringLower(SHA256.HashData(stored)));
    }
}
