using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using static StorageBridge.Tests.ResumableChunks;

namespace StorageBridge.Protocol.Tests.Security;

/// <summary>The requests of the three protocols and the download route, each sent with one <see cref="Credential"/>.</summary>
public sealed class SecureRequests(SecureServer server)
{
    public const string Tus = "1.0.0";

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static byte[] Bytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, Credential credential)
    {
        Credentials.Apply(request, server, credential);
        using (request)
        {
            return await server.Client.SendAsync(request);
        }
    }

    public Task<HttpResponseMessage> IetfCreateAsync(string target, byte[] first, bool complete, Credential credential, string? fileName = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{SecureServer.Prefix}/{target}") { Content = new ByteArrayContent(first) };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Complete", complete ? "?1" : "?0");
        if (fileName is not null)
        {
            request.Content.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileNameStar = fileName };
        }

        return SendAsync(request, credential);
    }

    public Task<HttpResponseMessage> IetfHeadAsync(string url, Credential credential)
    {
        var request = new HttpRequestMessage(HttpMethod.Head, url);
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        return SendAsync(request, credential);
    }

    public Task<HttpResponseMessage> IetfAppendAsync(string url, long offset, byte[] data, bool complete, Credential credential)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, url) { Content = new ByteArrayContent(data) };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Complete", complete ? "?1" : "?0");
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        return SendAsync(request, credential);
    }

    public Task<HttpResponseMessage> DeleteAsync(string url, Credential credential, bool tus = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Delete, url);
        if (tus)
        {
            request.Headers.Add("Tus-Resumable", Tus);
        }
        else
        {
            request.Headers.Add("Upload-Draft-Interop-Version", "8");
        }

        return SendAsync(request, credential);
    }

    public Task<HttpResponseMessage> OptionsAsync(string url, Credential credential) => SendAsync(new HttpRequestMessage(HttpMethod.Options, url), credential);

    public Task<HttpResponseMessage> DownloadAsync(string url, Credential credential) => SendAsync(new HttpRequestMessage(HttpMethod.Get, url + "/content"), credential);

    public Task<HttpResponseMessage> TusCreateAsync(string target, long length, Credential credential, bool partial = false, string? fileName = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{SecureServer.Prefix}/{target}") { Content = new ByteArrayContent([]) };
        request.Headers.Add("Tus-Resumable", Tus);
        request.Headers.Add("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
        if (partial)
        {
            request.Headers.Add("Upload-Concat", "partial");
        }

        if (fileName is not null)
        {
            request.Headers.Add("Upload-Metadata", "filename " + Convert.ToBase64String(Encoding.UTF8.GetBytes(fileName)));
        }

        return SendAsync(request, credential);
    }

    public Task<HttpResponseMessage> TusHeadAsync(string url, Credential credential)
    {
        var request = new HttpRequestMessage(HttpMethod.Head, url);
        request.Headers.Add("Tus-Resumable", Tus);
        return SendAsync(request, credential);
    }

    public Task<HttpResponseMessage> TusPatchAsync(string url, long offset, byte[] data, Credential credential)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, url) { Content = new ByteArrayContent(data) };
        request.Headers.Add("Tus-Resumable", Tus);
        request.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        return SendAsync(request, credential);
    }

    public Task<HttpResponseMessage> TusConcatAsync(string target, IEnumerable<string> partials, Credential credential)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{SecureServer.Prefix}/{target}") { Content = new ByteArrayContent([]) };
        request.Headers.Add("Tus-Resumable", Tus);
        request.Headers.Add("Upload-Concat", "final;" + string.Join(' ', partials));
        return SendAsync(request, credential);
    }

    public Task<HttpResponseMessage> ChunkAsync(string target, string identifier, int number, int chunkSize, byte[] file, Credential credential, string fileName = "file.bin")
    {
        var count = ChunkCount(file.Length, chunkSize);
        var (start, end) = Range(number, file.Length, chunkSize, count);
        var request = Chunk($"{SecureServer.Prefix}/{target}", Fields("resumable", identifier, number, chunkSize, file.Length, fileName), file.AsMemory((int)start, (int)(end - start)), StorageBridge.Tests.ChunkMode.Octet);
        return SendAsync(request, credential);
    }

    public Task<HttpResponseMessage> ChunkTestAsync(string target, string identifier, int number, int chunkSize, long total, Credential credential, string fileName = "file.bin") =>
        SendAsync(Test($"{SecureServer.Prefix}/{target}", Fields("resumable", identifier, number, chunkSize, total, fileName)), credential);

    /// <summary>The location of a 201 (relative, as the server sends it).</summary>
    public static string Location(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"expected 201, got {(int)response.StatusCode}");
        return response.Headers.Location!.OriginalString;
    }
}
