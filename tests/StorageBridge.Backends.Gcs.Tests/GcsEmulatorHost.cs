using Google.Cloud.Storage.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using StorageBridge.GcsEmulator;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>The GCS emulator in-process on a free loopback port, with one bucket; stopped when the class is done.</summary>
public sealed class GcsEmulatorHost : IAsyncLifetime
{
    private WebApplication? app;

    public string BaseUri { get; private set; } = "";

    public string Bucket { get; } = "conformance-" + Guid.NewGuid().ToString("N")[..12];

    public StorageClient Client { get; private set; } = null!;

    public StorageClient NewClient() => new StorageClientBuilder { BaseUri = BaseUri, UnauthenticatedAccess = true }.Build();

    public async Task InitializeAsync()
    {
        app = GcsEmulatorApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            if (Environment.GetEnvironmentVariable("GCS_EMULATOR_LOG") != "1")
            {
                builder.Logging.ClearProviders();
            }
        });
        using var startup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StartAsync(startup.Token);
        BaseUri = app.Urls.Single().TrimEnd('/') + "/storage/v1/";
        Client = NewClient();
        await Client.CreateBucketAsync("test-project", Bucket);
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (app is not null)
        {
            using var shutdown = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await app.StopAsync(shutdown.Token);
            await app.DisposeAsync();
        }
    }
}
