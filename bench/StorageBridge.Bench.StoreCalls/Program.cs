// Metadata-store calls per upload and per GiB: the bridge runs in this process (Kestrel on loopback) with a counting
// decorator around its SQLite store, targets on the fauxqs S3 emulator and on local files, and IETF uploads of
// typical shapes. The counts do not depend on the store (every store implements the same contract); they are the
// input of docs/scaling.md. Timing is not measured here: use StorageBridge.Bench for that.
//
// usage: dotnet run -c Release --project bench/StorageBridge.Bench.StoreCalls -- [--scale-down N]
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Backends.S3;
using StorageBridge.Bench;
using StorageBridge.Bench.StoreCalls;
using StorageBridge.Configuration;

const long MiB = 1024 * 1024;
var scaleDown = args.Length == 2 && args[0] == "--scale-down" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;

using var emulator = Fauxqs.Start(out var serviceUrl);
var data = Path.Combine(Path.GetTempPath(), "sb-store-calls-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(data);
try
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Logging.ClearProviders();
    void S3(S3TargetOptions o)
    {
        o.Bucket = "store-calls";
        o.ServiceUrl = serviceUrl;
        o.ForcePathStyle = true;
        o.Region = "us-east-1";
        o.AccessKey = "test";
        o.SecretKey = "test";
        o.CreateBucketIfMissing = true;
        o.UploadPartCopy = false;
    }

    builder.Services.AddStorageBridge(_ => { })
        .AddS3Target("s3", S3)
        .AddFileSystemTarget("files", o => o.Root = Path.Combine(data, "files"))
        .UseSqliteMetadata(o => o.Path = Path.Combine(data, "meta.db"))
        .UseMetadataStore<CountingStoreFactory>(CountingStoreFactory.ProviderName);
    builder.Services.Configure<StorageBridgeOptions>(o => o.Metadata.Provider = CountingStoreFactory.ProviderName);
    builder.Services.AddStorageBridgeS3();

    await using var app = builder.Build();
    app.MapResumableUploads("/uploads");
    await app.StartAsync();
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    using var http = new HttpClient { BaseAddress = new Uri(address + "/"), Timeout = TimeSpan.FromMinutes(10) };
    var counter = app.Services.GetServices<StorageBridge.Metadata.IUploadMetadataStoreFactory>().OfType<CountingStoreFactory>().Single();

    // (name, target, upload size, append size, uploads)
    (string Name, string Target, long Size, int Append, int Uploads)[] shapes =
    [
        ("S3, 1 GiB in one append (8 MiB parts)", "s3", 1024 * MiB, (int)(1024 * MiB), 1),
        ("S3, 1 GiB in 8 MiB appends (one part each)", "s3", 1024 * MiB, (int)(8 * MiB), 1),
        ("S3, 256 MiB in 4 MiB appends (Lambda-sized, tails)", "s3", 256 * MiB, (int)(4 * MiB), 1),
        ("S3, 256 MiB in 1 MiB appends (tails)", "s3", 256 * MiB, (int)MiB, 1),
        ("S3, 1 MiB in one append", "s3", MiB, (int)MiB, 20),
        ("files, 1 GiB in 8 MiB appends", "files", 1024 * MiB, (int)(8 * MiB), 1),
        ("files, 1 MiB in one append", "files", MiB, (int)MiB, 20),
    ];

    Console.WriteLine("| shape | store calls per upload | per GiB | reads | conditional writes | largest record (JSON bytes) |");
    Console.WriteLine("|---|---:|---:|---|---|---:|");
    var seed = 1UL;
    foreach (var (name, target, fullSize, fullAppend, uploads) in shapes)
    {
        var size = Math.Max(1, fullSize / scaleDown);
        var append = (int)Math.Max(1, Math.Min(fullAppend, size));
        await IetfAppendUpload.RunAsync(http, target, 64 * 1024, 64 * 1024, seed++, CancellationToken.None); // warm-up
        counter.Store.Reset();
        for (var i = 0; i < uploads; i++)
        {
            await IetfAppendUpload.RunAsync(http, target, size, append, seed++, CancellationToken.None);
        }

        var calls = counter.Store.Snapshot();
        var total = calls.Values.Sum();
        var perUpload = (double)total / uploads;
        var perGiB = total / ((double)size * uploads / (1024 * MiB));
        var reads = string.Join(", ", calls.Where(c => c.Key.StartsWith("Get", StringComparison.Ordinal)).Select(c => $"{c.Key} {(double)c.Value / uploads:0.#}"));
        var writes = string.Join(", ", calls.Where(c => !c.Key.StartsWith("Get", StringComparison.Ordinal)).Select(c => $"{c.Key} {(double)c.Value / uploads:0.#}"));
        Console.WriteLine(FormattableString.Invariant($"| {name} | {perUpload:0.#} | {perGiB:0} | {reads} | {writes} | {counter.Store.LargestRecordBytes} |"));
    }

    await app.StopAsync();
    return 0;
}
finally
{
    emulator.Kill(entireProcessTree: true);
    Directory.Delete(data, recursive: true);
}
