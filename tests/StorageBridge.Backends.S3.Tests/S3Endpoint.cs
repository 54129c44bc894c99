using System.Diagnostics;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using StorageBridge.Backends.S3;
using StorageBridge.Tests;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// The S3 endpoint of the test run: fauxqs (emulators/fauxqs) started by this fixture on 127.0.0.1 and a free port,
/// killed by PID on dispose; or, when <c>STORAGEBRIDGE_S3_SERVICEURL</c> is set, that endpoint (MinIO, AWS) with
/// <c>STORAGEBRIDGE_S3_ACCESSKEY</c>/<c>_SECRETKEY</c>/<c>_BUCKET</c>/<c>_REGION</c>.
/// Each fixture instance uses its own bucket on the emulator so test classes never see each other's objects.
/// </summary>
public sealed partial class S3Endpoint : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private Process? process;
    private Task<S3Server>? server;

    public string ServiceUrl { get; private set; } = "";
    public string AccessKey { get; private set; } = "test";
    public string SecretKey { get; private set; } = "test";
    public string Region { get; private set; } = "us-east-1";
    public string Bucket { get; private set; } = "";

    /// <summary>True when tests run against a real S3/MinIO (features fauxqs lacks can be tested then).</summary>
    public bool IsExternal { get; private set; }

    /// <summary>Every key this run writes starts with this (a shared external bucket is never polluted elsewhere).</summary>
    public string RunPrefix { get; } = $"sbtest-{Guid.NewGuid():N}/";

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("STORAGEBRIDGE_S3_SERVICEURL") is { Length: > 0 } external)
        {
            IsExternal = true;
            ServiceUrl = external;
            AccessKey = Environment.GetEnvironmentVariable("STORAGEBRIDGE_S3_ACCESSKEY") ?? AccessKey;
            SecretKey = Environment.GetEnvironmentVariable("STORAGEBRIDGE_S3_SECRETKEY") ?? SecretKey;
            Region = Environment.GetEnvironmentVariable("STORAGEBRIDGE_S3_REGION") ?? Region;
            Bucket = Environment.GetEnvironmentVariable("STORAGEBRIDGE_S3_BUCKET") ?? "storagebridge-tests";
        }
        else
        {
            ServiceUrl = await StartEmulatorAsync();
            Bucket = "sb-" + Guid.NewGuid().ToString("N")[..20];
        }

        using var client = CreateClient();
        try
        {
            await client.PutBucketAsync(new PutBucketRequest { BucketName = Bucket });
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
        }
    }

    /// <summary>The Kestrel server with S3 targets on this endpoint, started on first use.</summary>
    public Task<S3Server> ServerAsync()
    {
        lock (this)
        {
            return server ??= S3Server.StartAsync(this);
        }
    }

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await (await server).DisposeAsync();
        }

        if (process is not null)
        {
            try
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            process.Dispose();
        }
    }

    public S3BackendOptions Options(string? prefix = null) => new()
    {
        Bucket = Bucket,
        Prefix = RunPrefix + (prefix ?? ""),
        ServiceUrl = ServiceUrl,
        ForcePathStyle = true,
        Region = Region,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
    };

    /// <summary>Configuration keys of an S3 target on this endpoint (for factory and Kestrel tests).</summary>
    public Dictionary<string, string?> TargetSettings(string target, string? prefix = null) => new()
    {
        [$"StorageBridge:Targets:{target}:Backend"] = "S3",
        [$"StorageBridge:Targets:{target}:Bucket"] = Bucket,
        [$"StorageBridge:Targets:{target}:Prefix"] = RunPrefix + (prefix ?? target + "/"),
        [$"StorageBridge:Targets:{target}:ServiceUrl"] = ServiceUrl,
        [$"StorageBridge:Targets:{target}:ForcePathStyle"] = "true",
        [$"StorageBridge:Targets:{target}:Region"] = Region,
        [$"StorageBridge:Targets:{target}:AccessKey"] = AccessKey,
        [$"StorageBridge:Targets:{target}:SecretKey"] = SecretKey,
        // fauxqs 1.9.2 has no UploadPartCopy: tus concatenation streams there (S3ConcatenationTests checks both).
        [$"StorageBridge:Targets:{target}:UploadPartCopy"] = IsExternal ? "true" : "false",
    };

    /// <summary>A plain SDK client on the endpoint, to look into the bucket independently of the backend.</summary>
    public AmazonS3Client CreateClient(HttpClientFactory? httpClientFactory = null) =>
        S3BackendFactory.CreateClient(Options(), httpClientFactory);

    private async Task<string> StartEmulatorAsync()
    {
        var folder = Path.Combine(RepositoryLayout.Root, "emulators", "fauxqs");
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "fauxqs")))
        {
            throw new InvalidOperationException($"fauxqs is not installed: run `npm ci` in {folder} (./test.sh does).");
        }

        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = folder,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // the script exits when stdin closes: no orphan if the test host dies
        };
        start.ArgumentList.Add("start.mjs");
        start.ArgumentList.Add("0");
        process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(StartTimeout);
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (ListeningLine().Match(line) is { Success: true } match)
            {
                // Keep draining stdout so the emulator never blocks on a full pipe.
                _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                return match.Groups[1].Value;
            }
        }

        throw new InvalidOperationException($"fauxqs exited before it listened (exit code {(process.HasExited ? process.ExitCode : -1)}).");
    }

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}

[CollectionDefinition(Name)]
public sealed class S3Collection : ICollectionFixture<S3Endpoint>
{
    public const string Name = "S3 endpoint";
}
