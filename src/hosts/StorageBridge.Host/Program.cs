using StorageBridge.AspNetCore;
using StorageBridge.Backends.Gcs;
using StorageBridge.Host;
using StorageBridge.Metadata.Cosmos;

// Configuration reload watches the content root recursively; the embedded default stores uploads under ./data inside
// it, so every file the bridge writes would wake the watcher (measured: ~15% of CPU with many small uploads).
// Targets are fixed at start-up anyway.
if (!args.Any(a => a.Contains("reloadConfigOnChange", StringComparison.OrdinalIgnoreCase)))
{
    args = [.. args, "--hostBuilder:reloadConfigOnChange=false"];
}

var builder = WebApplication.CreateSlimBuilder(args);

// The embedded default listens on loopback:8080; --urls / ASPNETCORE_URLS override it.
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:8080");
}

builder.Services.AddStorageBridge(builder.Configuration);
builder.Services.AddStorageBridgeS3();
builder.Services.AddStorageBridgeCosmos();
builder.Services.AddStorageBridgeAzureBlob();
builder.Services.AddGcsBackend();

var app = builder.Build();
app.MapGet("/healthz", () => Results.Text("ok"));
app.MapResumableUploads("/uploads");
app.UseUploadPage();
app.Run();
