using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Google.Cloud.Storage.V1;
using StorageBridge.GcsEmulator;

namespace StorageBridge.GcsEmulator.Tests;

/// <summary>
/// Hosts the emulator in-process on a free loopback port (real Kestrel, real TCP) for the whole test run, and
/// hands out the official Google client pointed at it. Set GCS_EMULATOR_LOG=1 to see every request it serves.
/// </summary>
public sealed class GcsEmulatorFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public Uri Root { get; private set; } = null!;

    public StorageClient Client { get; private set; } = null!;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync()
    {
        _app = GcsEmulatorApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            if (Environment.GetEnvironmentVariable("GCS_EMULATOR_LOG") != "1")
            {
                builder.Logging.ClearProviders();
            }
        });
        using var startup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _app.StartAsync(startup.Token);
        Root = new Uri(_app.Urls.Single().TrimEnd('/') + "/");
        Client = new StorageClientBuilder { BaseUri = new Uri(Root, "storage/v1/").ToString(), UnauthenticatedAccess = true }.Build();
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Client?.Dispose();
        if (_app is not null)
        {
            using var shutdown = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _app.StopAsync(shutdown.Token);
            await _app.DisposeAsync();
        }
    }

    /// <summary>A new bucket per test keeps tests independent while sharing one emulator.</summary>
    public async Task<string> NewBucketAsync()
    {
        string name = "bkt-" + Guid.NewGuid().ToString("N")[..16];
        await Client.CreateBucketAsync("test-project", name);
        return name;
    }

    public Uri Upload(string bucket, string query) => new(Root, $"upload/storage/v1/b/{bucket}/o?{query}");

    /// <summary>Initiates a resumable session with a raw POST, as Google documents it; returns the session URI.</summary>
    public async Task<Uri> InitiateAsync(string bucket, string name, string query = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Upload(bucket, $"uploadType=resumable&name={Uri.EscapeDataString(name)}{query}"));
        request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await Http.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        return response.Headers.Location ?? throw new InvalidOperationException("no Location");
    }

    /// <summary>PUT on a session URI with the given Content-Range and body.</summary>
    public async Task<HttpResponseMessage> PutAsync(Uri session, string contentRange, byte[]? body = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = new ByteArrayContent(body ?? []) };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
        return await Http.SendAsync(request);
    }
}

[CollectionDefinition(Name)]
public sealed class GcsEmulatorCollection : ICollectionFixture<GcsEmulatorFixture>
{
    public const string Name = "gcs-emulator";
}

public static class TestData
{
    public const int Quantum = 256 * 1024;

    /// <summary>Deterministic, non-repeating-looking bytes so offsets errors change the hashes.</summary>
    public static byte[] Bytes(int length, int seed = 1)
    {
        byte[] data = new byte[length];
        new Random(seed + length).NextBytes(data);
        return data;
    }

    public static string Sha256(byte[] data) => Convert.ToHexString(SHA256.HashData(data));

    public static string Md5Base64(byte[] data) => Convert.ToBase64String(MD5.HashData(data));

    /// <summary>
    /// CRC-32C, bitwise from the Castagnoli polynomial (independent of the emulator's hardware path), as GCS
    /// encodes it: base64 of the big-endian value. The client library's own Crc32c is internal, but UploadObject
    /// also validates the returned crc32c itself (UploadValidationMode), so a wrong value fails there too.
    /// </summary>
    public static string Crc32CBase64(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
            }
        }

        crc = ~crc;
        return Convert.ToBase64String([(byte)(crc >> 24), (byte)(crc >> 16), (byte)(crc >> 8), (byte)crc]);
    }
}
