using Amazon.S3;
using StorageBridge.AspNetCore;
using StorageBridge.Configuration;

var builder = WebApplication.CreateBuilder(args);
var s3 = builder.Configuration.GetSection("S3"); // e.g. S3__ServiceUrl, S3__Bucket; credentials: the SDK's usual chain

// The application owns its S3 client (endpoint, credentials, retries); the bridge uses it as it is.
builder.Services.AddSingleton<IAmazonS3>(_ => s3["ServiceUrl"] is { Length: > 0 } url
    ? new AmazonS3Client(new AmazonS3Config { ServiceURL = url, ForcePathStyle = true, AuthenticationRegion = s3["Region"] ?? "us-east-1" })
    : new AmazonS3Client());

builder.Services.AddStorageBridge()
    .AddS3Target("media", sp => sp.GetRequiredService<IAmazonS3>(), o =>
    {
        o.Bucket = s3["Bucket"] ?? "media";
        o.Prefix = s3["Prefix"] ?? "";
        o.MaxUploadSize = ByteSize.FromGibibytes(5);
    })
    .UseSqliteMetadata(o => o.Path = "data/uploads.db");

var app = builder.Build();
app.MapGet("/healthz", () => "ok");
// Who may upload is the application's decision, e.g. .RequireAuthorization() (with AddAuthentication/AddAuthorization).
app.MapResumableUploads("/uploads"); // .RequireAuthorization();
app.Run();
