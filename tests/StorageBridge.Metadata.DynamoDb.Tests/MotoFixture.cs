using System.Diagnostics;
using System.Text.RegularExpressions;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using StorageBridge.Metadata.DynamoDb;
using StorageBridge.Tests;

namespace StorageBridge.Metadata.DynamoDb.Tests;

/// <summary>
/// moto's server (emulators/moto/start.py: DynamoDB and S3 on one port) on 127.0.0.1 and a free port, killed by PID on
/// dispose (it also exits when its stdin closes, so a dead test run leaves no orphan). With
/// <c>STORAGEBRIDGE_DYNAMODB_SERVICEURL</c> set, that endpoint instead (DynamoDB Local, or AWS with
/// <c>STORAGEBRIDGE_DYNAMODB_REGION</c> and the SDK's credentials). Every test uses tables of its own.
/// </summary>
public sealed partial class MotoFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Queue<string> _errors = new();
    private Process? _process;

    public string ServiceUrl { get; private set; } = "";

    public string Region { get; private set; } = "us-east-1";

    public const string AccessKey = "test";

    public const string SecretKey = "test";

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("STORAGEBRIDGE_DYNAMODB_SERVICEURL") is { Length: > 0 } external)
        {
            ServiceUrl = external;
            Region = Environment.GetEnvironmentVariable("STORAGEBRIDGE_DYNAMODB_REGION") ?? Region;
            return;
        }

        var script = Path.Combine(RepositoryLayout.Root, "emulators", "moto", "start.py");
        var start = new ProcessStartInfo("python3")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add("0");
        _process = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start.");
        _process.ErrorDataReceived += (_, e) => KeepError(e.Data);
        _process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(StartTimeout);
        while (await _process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (ListeningLine().Match(line) is { Success: true } match)
            {
                ServiceUrl = match.Groups[1].Value;
                _ = _process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                return;
            }
        }

        await _process.WaitForExitAsync(timeout.Token);
        string errors;
        lock (_errors)
        {
            errors = string.Join('\n', _errors);
        }

        throw new InvalidOperationException(
            $"moto exited before it listened (exit code {_process.ExitCode}); install it with pip install 'moto[server]==5.2.1' (./test.sh does): {errors}");
    }

    public Task DisposeAsync()
    {
        if (_process is { } process)
        {
            try
            {
                process.StandardInput.Close();
                if (!process.WaitForExit(3_000))
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5_000);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            process.Dispose();
        }

        return Task.CompletedTask;
    }

    /// <summary>Store options on a new table of this endpoint, created at start-up.</summary>
    public DynamoDbMetadataOptions Options(string? table = null, HttpClientFactory? httpClientFactory = null, int? maxErrorRetry = null) => new()
    {
        TableName = table ?? NewTableName(),
        ServiceUrl = new Uri(ServiceUrl),
        Region = Region,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        CreateTable = true,
        ConfigureClient = config =>
        {
            if (httpClientFactory is not null)
            {
                config.HttpClientFactory = httpClientFactory;
            }

            if (maxErrorRetry is { } retries)
            {
                config.MaxErrorRetry = retries;
            }
        },
    };

    /// <summary>Configuration keys (environment form) of a Host process using a table on this endpoint.</summary>
    public Dictionary<string, string?> HostEnvironment(string table) => new()
    {
        ["StorageBridge__Metadata__Provider"] = "DynamoDb",
        ["StorageBridge__Metadata__TableName"] = table,
        ["StorageBridge__Metadata__ServiceUrl"] = ServiceUrl,
        ["StorageBridge__Metadata__Region"] = Region,
        ["StorageBridge__Metadata__AccessKey"] = AccessKey,
        ["StorageBridge__Metadata__SecretKey"] = SecretKey,
        ["StorageBridge__Metadata__CreateTable"] = "true",
    };

    /// <summary>A plain SDK client, to look at what the store wrote.</summary>
    public AmazonDynamoDBClient CreateClient() =>
        new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonDynamoDBConfig { ServiceURL = ServiceUrl, AuthenticationRegion = Region });

    public static string NewTableName() => "sb-" + Guid.NewGuid().ToString("N")[..16];

    private void KeepError(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_errors)
        {
            _errors.Enqueue(line);
            if (_errors.Count > 20)
            {
                _errors.Dequeue();
            }
        }
    }

    [GeneratedRegex(@"moto listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}

[CollectionDefinition(Name)]
public sealed class MotoCollection : ICollectionFixture<MotoFixture>
{
    public const string Name = "moto";
}
