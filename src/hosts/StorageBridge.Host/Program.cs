using StorageBridge.AspNetCore;
using StorageBridge.Host;

// Configuration reload watches the content root recursively; when the bridge writes below it (data under the content
// root), every file would wake the watcher (measured: ~15% of CPU with many small uploads). Targets are fixed at
// start-up anyway.
if (!args.Any(a => a.Contains("reloadConfigOnChange", StringComparison.OrdinalIgnoreCase)))
{
    args = [.. args, "--hostBuilder:reloadConfigOnChange=false"];
}

// Where things are: appsettings.json is read next to the binary (the content root), while data paths (the default
// target's data/objects, data/metadata/storagebridge.db) resolve against the current working directory, so
// `dotnet run --project src/hosts/StorageBridge.Host` from the repository root writes ./data there (the project sets
// RunWorkingDirectory to the directory dotnet was started from). --contentRoot still overrides the first.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
{
    Args = args,
    ContentRootPath = args.Any(a => a.Contains("contentRoot", StringComparison.OrdinalIgnoreCase)) ? null : AppContext.BaseDirectory,
});

// The embedded default listens on loopback:8080. Any of --urls, ASPNETCORE_URLS, ASPNETCORE_HTTP_PORTS or
// ASPNETCORE_HTTPS_PORTS (the official container images set ASPNETCORE_HTTP_PORTS=8080: all interfaces) replaces it;
// WebApplicationBuilder reads the ASPNETCORE_ variables without their prefix, the plain environment keeps it.
string[] listenKeys = ["urls", "http_ports", "https_ports"];
if (listenKeys.All(key => string.IsNullOrEmpty(builder.Configuration[key]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_" + key])))
{
    builder.WebHost.UseUrls("http://127.0.0.1:8080");
}

// Reachable beyond loopback (a container, a non-loopback --urls): StorageBridge:Exposed, unless configuration says.
// Exposed targets must state their authentication and get a default MaxUploadSize (docs/limits.md).
if (string.IsNullOrWhiteSpace(builder.Configuration[HostExposure.Key]))
{
    builder.Configuration[HostExposure.Key] = HostExposure.ListensBeyondLoopback(builder.Configuration) ? "true" : "false";
}

// Everything comes from configuration (appsettings.json, StorageBridge__... environment variables). Metadata:
// SQLite unless Metadata:Provider says Cosmos, Postgres or DynamoDb.
builder.Services.AddStorageBridge(builder.Configuration)
    .UseSqliteMetadata()
    .UseCosmosMetadata()
    .UsePostgresMetadata()
    .UseDynamoDbMetadata()
    .AddAzureQueueEvents() // completion event sinks that StorageBridge:Events:Sinks may name (Type: AzureQueue, Sqs)
    .AddSqsEvents();
builder.Services.AddStorageBridgeS3();
builder.Services.AddStorageBridgeAzureBlob();
builder.Services.AddGcsBackend();
builder.AddStorageBridgeOperations(); // JSON logs, shutdown timeout, OpenTelemetry (HostOperations.cs)

var app = builder.Build();
app.MapGet("/healthz", () => Results.Text("ok"));
app.MapStorageBridgeOperations(); // /healthz/live, /healthz/ready, /metrics when enabled
app.MapResumableUploads("/uploads");

// POST /maintenance/expire (one expiry sweep) for hosts whose timer does not run between requests (AWS Lambda: an
// EventBridge schedule calls it); mapped only when a secret is configured, since the endpoint refuses to exist without.
if (!string.IsNullOrEmpty(app.Configuration["StorageBridge:Maintenance:Secret"]))
{
    app.MapStorageBridgeMaintenance("/maintenance");
}

app.UseUploadPage();
app.Run();
