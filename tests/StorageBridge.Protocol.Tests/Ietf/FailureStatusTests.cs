using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Backends;
using StorageBridge.Configuration;
using StorageBridge.FileSystem;
using StorageBridge.Tests.Support;
using StorageBridge.Uploads;

namespace StorageBridge.Protocol.Tests.Ietf;

/// <summary>
/// What a failure that is not the storage's says to the client: a bug (here a backend throwing a plain
/// InvalidOperationException) answers 500 without Retry-After, so clients do not retry it forever; the error is logged.
/// Transient and refused storage calls (503, 502) are covered with real SDKs in the S3 and Azure tests.
/// </summary>
public sealed class FailureStatusTests : IAsyncLifetime
{
    private readonly TempDirectory root = new("storagebridge-failures");
    private readonly ListLoggerProvider log = new();
    private WebApplication? app;
    private HttpClient? client;

    private HttpClient Client => client!;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "InMemory",
            ["StorageBridge:Targets:buggy:Backend"] = BuggyFactory.BackendName,
            ["StorageBridge:Targets:unclassified:Backend"] = BuggyFactory.BackendName,
        };
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(log);
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddStorageBridge(builder.Configuration).UseInMemoryMetadata();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadBackendFactory>(new BuggyFactory(root.Path)));
        app = builder.Build();
        app.MapResumableUploads("/uploads");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        client = new HttpClient { BaseAddress = new Uri(address + "/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        client?.Dispose();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        root.Dispose();
    }

    [Fact]
    public async Task A_backend_bug_answers_500_without_Retry_After_logs_an_error_and_keeps_the_offset()
    {
        var location = await CreateAsync("buggy");

        using (var failed = await PatchAsync(location, 0, [1, 2, 3]))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.False(failed.Headers.Contains("Retry-After"));
            Assert.Equal("application/problem+json", failed.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("injected bug", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Contains(log.Entries, e => e.Level == LogLevel.Error && e.Exception is InvalidOperationException { Message: "injected bug" });
        Assert.Equal("0", await HeadOffsetAsync(location));
    }

    [Fact]
    public async Task An_unclassified_network_failure_answers_500_without_Retry_After()
    {
        // Issue 11 item 20: only a failure the backend classified as transient says "retry"; an exception a backend
        // let through unclassified is a bug of that backend, answered like every other bug.
        var location = await CreateAsync("unclassified");

        using (var failed = await PatchAsync(location, 0, [1, 2, 3]))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.False(failed.Headers.Contains("Retry-After"));
            Assert.Equal("application/problem+json", failed.Content.Headers.ContentType?.MediaType);
        }

        Assert.Contains(log.Entries, e => e.Level == LogLevel.Error && e.Exception is HttpRequestException);
        Assert.Equal("0", await HeadOffsetAsync(location));
    }

    private async Task<Uri> CreateAsync(string target)
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, $"uploads/{target}") { Content = new ByteArrayContent([]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", "3");
        using var created = await Client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return created.Headers.Location!;
    }

    private async Task<HttpResponseMessage> PatchAsync(Uri location, long offset, byte[] content)
    {
        using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(content) };
        patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        patch.Headers.Add("Upload-Draft-Interop-Version", "8");
        patch.Headers.Add("Upload-Offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
        patch.Headers.Add("Upload-Complete", "?1");
        return await Client.SendAsync(patch);
    }

    private async Task<string> HeadOffsetAsync(Uri location)
    {
        using var head = new HttpRequestMessage(HttpMethod.Head, location);
        head.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await Client.SendAsync(head);
        return response.Headers.GetValues("Upload-Offset").Single();
    }

    /// <summary>
    /// A file backend whose writes fail: target <c>buggy</c> with a plain InvalidOperationException (a bug),
    /// <c>unclassified</c> with an HttpRequestException a third-party backend let through unclassified.
    /// </summary>
    private sealed class BuggyFactory(string root) : IUploadBackendFactory
    {
        public const string BackendName = "Buggy";

        public string Name => BackendName;

        public UploadBackendDefinition Create(string targetName, IServiceProvider services)
        {
            var inner = new FileSystemBackend(new FileSystemBackendOptions { Root = Path.Combine(root, targetName) });
            Exception Failure() => targetName == "buggy"
                ? new InvalidOperationException("injected bug")
                : new HttpRequestException("injected: connection refused");
            return new UploadBackendDefinition(new FailingWrites(inner, Failure), new StorageBridgeTargetOptions());
        }
    }

    private sealed class FailingWrites(FileSystemBackend inner, Func<Exception> failure) : IAppendBackend
    {
        public BackendCapabilities Capabilities => inner.Capabilities;

        public ITailStore Tails { get; } = new FailingTailWrites(inner.Tails, failure);

        public IObjectConcatenation? Concatenation => null;

        public ISessionReconciliation? Reconciliation => null;

        public Task<string?> StartAsync(BackendUpload upload, CancellationToken cancellationToken) => inner.StartAsync(upload, cancellationToken);

        public Task WriteAsync(BackendUpload upload, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
            Task.FromException(failure());

        public Task<StoredObject> CompleteAsync(BackendUpload upload, CancellationToken cancellationToken) => Task.FromException<StoredObject>(failure());

        public Task AbortAsync(BackendUpload upload, CancellationToken cancellationToken) => inner.AbortAsync(upload, cancellationToken);

        public Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken) =>
            inner.OpenReadAsync(objectKey, offset, length, cancellationToken);

        public Task DeleteObjectAsync(string objectKey, CancellationToken cancellationToken) => inner.DeleteObjectAsync(objectKey, cancellationToken);
    }

    private sealed class FailingTailWrites(ITailStore inner, Func<Exception> failure) : ITailStore
    {
        public Task WriteAsync(string uploadId, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
            Task.FromException(failure());

        public Task ReadAsync(string uploadId, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken) =>
            inner.ReadAsync(uploadId, tail, destination, cancellationToken);

        public Task DeleteAsync(string uploadId, int sequence, CancellationToken cancellationToken) => inner.DeleteAsync(uploadId, sequence, cancellationToken);

        public Task DeleteAllAsync(string uploadId, CancellationToken cancellationToken) => inner.DeleteAllAsync(uploadId, cancellationToken);
    }

    /// <summary>Keeps every log entry with its exception.</summary>
    private sealed class ListLoggerProvider : ILoggerProvider, ILogger
    {
        private readonly List<(LogLevel Level, Exception? Exception)> entries = [];

        public IReadOnlyList<(LogLevel Level, Exception? Exception)> Entries
        {
            get
            {
                lock (entries)
                {
                    return [.. entries];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (entries)
            {
                entries.Add((logLevel, exception));
            }
        }

        public void Dispose()
        {
        }
    }
}
