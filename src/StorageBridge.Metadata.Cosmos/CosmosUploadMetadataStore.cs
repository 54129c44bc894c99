using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Identity;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.Cosmos;

/// <summary>
/// Upload records in a Cosmos DB (NoSQL API) container partitioned on <c>/id</c>: one item per upload whose body is the
/// shared <see cref="UploadRecordJson"/> document plus <c>expiresAtMs</c> (for the expiry scan) and <c>ttl</c>
/// (so the service drops records nobody cleans up, <see cref="CosmosMetadataOptions.TtlGrace"/> after the expiry). The version is the item's <c>_etag</c>; every replace and delete
/// is conditional on it (IfMatch), which is what makes several instances safe without a lock server.
/// </summary>
/// <remarks>
/// Items are written and read through the SDK's stream APIs with System.Text.Json, so the stored document is exactly
/// the shared format (the SDK's Newtonsoft serializer never touches it). The SDK itself retries 429 (honouring
/// x-ms-retry-after-ms); this store additionally retries 503/408 a few times, since those are transient too.
/// </remarks>
public sealed partial class CosmosUploadMetadataStore : IUploadMetadataStore, IDisposable
{
    /// <summary>Top-level expiry instant in Unix milliseconds: the expiry query filters on it.</summary>
    public const string ExpiresAtField = "expiresAtMs";

    public const string TtlField = "ttl";

    private const int MaxTransientAttempts = 5;

    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };

    private readonly CosmosMetadataOptions _options;
    private readonly CosmosClient _client;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _ownsClient = true;
    private Container _container;

    /// <summary>
    /// A store on a client the application owns (not disposed here): the options' Endpoint, Key, ConnectionMode and
    /// certificate settings are the client's business then; Database, Container, CreateIfMissing and TtlGrace apply.
    /// </summary>
    public CosmosUploadMetadataStore(CosmosClient client, CosmosMetadataOptions options, TimeProvider? timeProvider = null, ILogger<CosmosUploadMetadataStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<CosmosUploadMetadataStore>.Instance;
        _client = client;
        _ownsClient = false;
        _container = _client.GetContainer(options.Database, options.Container);
    }

    public CosmosUploadMetadataStore(CosmosMetadataOptions options, TimeProvider? timeProvider = null, ILogger<CosmosUploadMetadataStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<CosmosUploadMetadataStore>.Instance;

        var clientOptions = new CosmosClientOptions
        {
            ConnectionMode = options.ConnectionMode,
            ApplicationName = "StorageBridge",
            EnableContentResponseOnWrite = false,
        };
        if (options.AcceptAnyServerCertificate)
        {
            // Emulators only (self-signed certificates); off by default and never implied.
            clientOptions.ServerCertificateCustomValidationCallback = static (_, _, _) => true;
        }

        options.ConfigureClient?.Invoke(clientOptions);
        _client = string.IsNullOrWhiteSpace(options.Key)
            ? new CosmosClient(options.Endpoint.AbsoluteUri, options.Credential ?? new DefaultAzureCredential(), clientOptions)
            : new CosmosClient(options.Endpoint.AbsoluteUri, options.Key, clientOptions);
        _container = _client.GetContainer(options.Database, options.Container);
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (!_options.CreateIfMissing)
        {
            // Fail at start-up, not on the first upload, when the container is missing or the key is wrong.
            await RetryTransientAsync(
                "read container",
                async () => (await _container.ReadContainerAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).StatusCode,
                cancellationToken).ConfigureAwait(false);
            Log.Ready(_logger, _options.Database, _options.Container, _client.Endpoint, _client.ClientOptions.ConnectionMode);
            return;
        }

        var database = await RetryTransientAsync(
            "create database",
            () => _client.CreateDatabaseIfNotExistsAsync(_options.Database, cancellationToken: cancellationToken),
            cancellationToken).ConfigureAwait(false);

        // DefaultTimeToLive = -1: TTL is on, but only items carrying a ttl field expire.
        var properties = new ContainerProperties(_options.Container, "/id") { DefaultTimeToLive = -1 };
        IndexOnlyExpiry(properties.IndexingPolicy);
        var container = await RetryTransientAsync(
            "create container",
            () => database.Database.CreateContainerIfNotExistsAsync(properties, cancellationToken: cancellationToken),
            cancellationToken).ConfigureAwait(false);
        _container = container.Container;
        if (container.Resource?.DefaultTimeToLive is null)
        {
            // An existing container without TTL ignores the ttl fields: records then leave only through the expiry scan.
            Log.TtlOff(_logger, _options.Container);
        }

        if (container.Resource is { } existing)
        {
            await IndexEventsDueAsync(existing, cancellationToken).ConfigureAwait(false);
        }

        Log.Ready(_logger, _options.Database, _options.Container, _client.Endpoint, _client.ClientOptions.ConnectionMode);
    }

    public async Task<MetadataWriteResult> CreateAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var retried = new StrongBox<bool>();
        using var response = await SendAsync(
            "create",
            () => _container.CreateItemStreamAsync(ToDocument(record), new PartitionKey(record.Id), NoContent, cancellationToken),
            cancellationToken,
            retried).ConfigureAwait(false);

        return response.StatusCode switch
        {
            HttpStatusCode.Created or HttpStatusCode.OK => MetadataWriteResult.Success(record with { Version = ETagOf(response) }),
            HttpStatusCode.Conflict when retried.Value => await LandedEarlierAsync(record, cancellationToken).ConfigureAwait(false),
            HttpStatusCode.Conflict => MetadataWriteResult.Conflict,
            _ => throw Fail(response),
        };
    }

    public async Task<UploadRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return await ReadDocumentAsync<UploadRecord>("read", id, FromDocumentAsync, cancellationToken).ConfigureAwait(false);
    }

    public async Task<MetadataWriteResult> TryReplaceAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (string.IsNullOrEmpty(record.Version))
        {
            // No IfMatch would make the replace unconditional; a version we never issued cannot match.
            return await GetAsync(record.Id, cancellationToken).ConfigureAwait(false) is null
                ? MetadataWriteResult.NotFound
                : MetadataWriteResult.Conflict;
        }

        var options = new ItemRequestOptions { IfMatchEtag = record.Version, EnableContentResponseOnWrite = false };
        var retried = new StrongBox<bool>();
        using var response = await SendAsync(
            "replace",
            () => _container.ReplaceItemStreamAsync(ToDocument(record), record.Id, new PartitionKey(record.Id), options, cancellationToken),
            cancellationToken,
            retried).ConfigureAwait(false);

        return response.StatusCode switch
        {
            HttpStatusCode.OK => MetadataWriteResult.Success(record with { Version = ETagOf(response) }),
            HttpStatusCode.PreconditionFailed when retried.Value => await LandedEarlierAsync(record, cancellationToken).ConfigureAwait(false),
            HttpStatusCode.PreconditionFailed => MetadataWriteResult.Conflict,
            HttpStatusCode.NotFound => MetadataWriteResult.NotFound,
            _ => throw Fail(response),
        };
    }

    public async Task<MetadataWriteStatus> TryDeleteAsync(string id, string version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (string.IsNullOrEmpty(version))
        {
            return await GetAsync(id, cancellationToken).ConfigureAwait(false) is null
                ? MetadataWriteStatus.NotFound
                : MetadataWriteStatus.Conflict;
        }

        return await DeleteDocumentAsync("delete", id, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one document (upload record or lookup) by id: parsed when it exists, null when it does not.</summary>
    private async Task<T?> ReadDocumentAsync<T>(
        string operation, string documentId, Func<Stream, string, CancellationToken, Task<T>> parse, CancellationToken cancellationToken)
        where T : class?
    {
        using var response = await SendAsync(
            operation,
            () => _container.ReadItemStreamAsync(documentId, new PartitionKey(documentId), cancellationToken: cancellationToken),
            cancellationToken).ConfigureAwait(false);

        return response.StatusCode switch
        {
            HttpStatusCode.OK => await parse(response.Content, ETagOf(response), cancellationToken).ConfigureAwait(false),
            HttpStatusCode.NotFound => null,
            _ => throw Fail(response),
        };
    }

    /// <summary>Deletes one document (upload record or lookup) if its stored version still equals <paramref name="version"/>.</summary>
    private async Task<MetadataWriteStatus> DeleteDocumentAsync(string operation, string documentId, string version, CancellationToken cancellationToken)
    {
        var options = new ItemRequestOptions { IfMatchEtag = version };
        using var response = await SendAsync(
            operation,
            () => _container.DeleteItemStreamAsync(documentId, new PartitionKey(documentId), options, cancellationToken),
            cancellationToken).ConfigureAwait(false);

        return response.StatusCode switch
        {
            HttpStatusCode.NoContent or HttpStatusCode.OK => MetadataWriteStatus.Success,
            HttpStatusCode.PreconditionFailed => MetadataWriteStatus.Conflict,
            HttpStatusCode.NotFound => MetadataWriteStatus.NotFound,
            _ => throw Fail(response),
        };
    }

    public async IAsyncEnumerable<UploadRecord> ListExpiredAsync(
        DateTimeOffset now, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            yield break;
        }

        // No ORDER BY / TOP: @vercel/cosmosdb-server (the test emulator) implements neither, so the due records are
        // read in full and sorted and cut client-side. The set is small in practice: the cleanup service runs often and
        // deletes (or re-dates) what it lists; the SDK pages through it.
        var due = await QueryAtOrBeforeAsync(ExpiresAtField, now, "expiry query", r => r.ExpiresAt, cancellationToken).ConfigureAwait(false);

        foreach (var record in due.OrderBy(r => r.ExpiresAt).ThenBy(r => r.Id, StringComparer.Ordinal).Take(limit))
        {
            yield return record;
        }
    }

    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    /// <summary>
    /// A write retried after a transient failure answers 409/412 when its first attempt did land (only the answer was
    /// lost). If the stored record is exactly what we wrote, report that success instead of a phantom lost race, so the
    /// caller does not redo (or abandon) a write that is already in place.
    /// </summary>
    private async Task<MetadataWriteResult> LandedEarlierAsync(UploadRecord written, CancellationToken cancellationToken)
    {
        var current = await GetAsync(written.Id, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return MetadataWriteResult.NotFound;
        }

        return string.Equals(UploadRecordJson.Serialize(current), UploadRecordJson.Serialize(written), StringComparison.Ordinal)
            ? MetadataWriteResult.Success(current)
            : MetadataWriteResult.Conflict;
    }

    /// <summary>Seconds until <paramref name="expiresAt"/> plus <paramref name="grace"/>, rounded up and at least 1; null (no ttl: the item never expires) without an expiry.</summary>
    public static int? TtlSeconds(DateTimeOffset? expiresAt, DateTimeOffset now, TimeSpan grace)
    {
        if (expiresAt is not { } expires)
        {
            return null;
        }

        var seconds = Math.Ceiling((expires - now + grace).TotalSeconds);
        return (int)Math.Clamp(seconds, 1, int.MaxValue);
    }

    private MemoryStream ToDocument(UploadRecord record)
    {
        var document = JsonSerializer.SerializeToNode(record, UploadRecordJson.TypeInfo)!.AsObject();
        if (record.ExpiresAt is { } expires)
        {
            document[ExpiresAtField] = expires.ToUnixTimeMilliseconds();
            document[TtlField] = TtlSeconds(expires, _time.GetUtcNow(), _options.TtlGrace);
        }

        if (record.EventsDueAt is { } eventsDue)
        {
            document[EventsDueAtField] = eventsDue.ToUnixTimeMilliseconds();
        }

        var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            document.WriteTo(writer);
        }

        stream.Position = 0;
        return stream;
    }

    private static async Task<UploadRecord> FromDocumentAsync(Stream content, string etag, CancellationToken cancellationToken)
    {
        // Unknown members (id is mapped; _rid, _etag, ttl, expiresAtMs... are not) are skipped by the shared contract.
        var record = await JsonSerializer.DeserializeAsync(content, UploadRecordJson.TypeInfo, cancellationToken)
            .ConfigureAwait(false) ?? throw new JsonException("Upload record document is null.");
        return record with { Version = etag };
    }

    private static string ETagOf(ResponseMessage response) =>
        response.Headers.ETag is { Length: > 0 } etag
            ? etag
            : throw new InvalidOperationException($"Cosmos DB answered {(int)response.StatusCode} without an ETag.");

    /// <summary>An answer none of the operations expects, as a storage failure (the CosmosException inside).</summary>
    private StorageBackendException Fail(ResponseMessage response) =>
        Classify(
            new CosmosException(
                $"Cosmos DB answered {(int)response.StatusCode}: {response.ErrorMessage}",
                response.StatusCode,
                int.TryParse(response.Headers["x-ms-substatus"], System.Globalization.CultureInfo.InvariantCulture, out var subStatus) ? subStatus : 0,
                response.Headers.ActivityId,
                response.Headers.RequestCharge),
            CancellationToken.None)!;

    /// <summary>
    /// The storage exception for a Cosmos failure, or null for exceptions that keep their type (cancellation, bugs).
    /// 408/429/5xx, 410 (a partition moved) and 449 (retry with) are transient; other statuses (401 bad key,
    /// 403 forbidden, 404 missing database or container) are permanent.
    /// </summary>
    private StorageBackendException? Classify(Exception exception, CancellationToken cancellationToken)
    {
        var backend = $"Cosmos DB container {_options.Container}";
        return exception switch
        {
            StorageBackendException => null,
            CosmosException cosmos => new StorageBackendException(
                backend,
                StorageBackendException.IsTransientStatus((int)cosmos.StatusCode) || (int)cosmos.StatusCode is 410 or 449,
                (int)cosmos.StatusCode,
                cosmos.SubStatusCode == 0 ? null : cosmos.SubStatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
                cosmos),
            // The SDK's request timeout surfaces as a cancellation nobody asked for.
            OperationCanceledException when !cancellationToken.IsCancellationRequested =>
                new StorageBackendException(backend, isTransient: true, null, "Timeout", exception),
            _ when StorageBackendException.IsNetworkFailure(exception) => new StorageBackendException(backend, isTransient: true, null, null, exception),
            _ => null,
        };
    }

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.ServiceUnavailable or HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(50 * (1 << attempt));

    // Stream APIs return errors as responses; 503/408 (and a 429 the SDK gave up on) are retried here with backoff.
    // A retried write whose first attempt did land answers 412/409, which callers treat as a lost race and re-read.
    private async Task<ResponseMessage> SendAsync(
        string operation, Func<Task<ResponseMessage>> send, CancellationToken cancellationToken, StrongBox<bool>? retried = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            ResponseMessage response;
            try
            {
                response = await send().ConfigureAwait(false);
            }
            catch (Exception ex) when (Classify(ex, cancellationToken) is { } failure)
            {
                throw failure;
            }

            if (!IsTransient(response.StatusCode) || attempt >= MaxTransientAttempts)
            {
                return response;
            }

            response.Dispose();
            retried?.Value = true;
            Log.RetryingTransient(_logger, (int)response.StatusCode, operation, attempt, MaxTransientAttempts, (long)Backoff(attempt).TotalMilliseconds);
            await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<T> RetryTransientAsync<T>(string name, Func<Task<T>> operation, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await operation().ConfigureAwait(false);
            }
            catch (CosmosException e) when (IsTransient(e.StatusCode) && attempt < MaxTransientAttempts)
            {
                Log.RetryingTransient(_logger, (int)e.StatusCode, name, attempt, MaxTransientAttempts, (long)Backoff(attempt).TotalMilliseconds);
                await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.Cosmos.TtlOff, LogLevel.Warning, "Time to live is off on container {Container}: per-item ttl is ignored, records leave only through the expiry scan (set DefaultTimeToLive = -1 to enable it)")]
        public static partial void TtlOff(ILogger logger, string container);

        [LoggerMessage(Diagnostics.EventIds.Cosmos.EventsIndexAdded, LogLevel.Information, "Container {Container} created by an earlier version: added {Path} to its indexing policy (completion events)")]
        public static partial void EventsIndexAdded(ILogger logger, string container, string path);

        [LoggerMessage(Diagnostics.EventIds.Cosmos.EventsIndexMissing, LogLevel.Warning, "Container {Container} does not index {Path}: listing due completion events fails until the path is added to its indexing policy")]
        public static partial void EventsIndexMissing(ILogger logger, Exception exception, string container, string path);

        [LoggerMessage(Diagnostics.EventIds.Cosmos.Ready, LogLevel.Information, "Cosmos DB metadata store ready: database {Database}, container {Container} at {Endpoint} ({Mode} mode)")]
        public static partial void Ready(ILogger logger, string database, string container, Uri endpoint, ConnectionMode mode);

        [LoggerMessage(Diagnostics.EventIds.Cosmos.RetryingTransient, LogLevel.Warning, "Cosmos DB answered {Status} to {Operation}; retry {Attempt} of {MaxAttempts} in {DelayMs} ms")]
        public static partial void RetryingTransient(ILogger logger, int status, string operation, int attempt, int maxAttempts, long delayMs);
    }

    /// <summary>
    /// Only the two expiry queries and the due-events query filter on a field; every other read is a point read by id. Indexing just those
    /// fields (instead of Cosmos DB's default: every property, including each entry of a record's part list) keeps
    /// the RU cost of a replace from growing with the number of parts.
    /// </summary>
    internal static void IndexOnlyExpiry(IndexingPolicy policy)
    {
        policy.IncludedPaths.Clear();
        policy.ExcludedPaths.Clear();
        policy.IncludedPaths.Add(new IncludedPath { Path = $"/{ExpiresAtField}/?" });
        policy.IncludedPaths.Add(new IncludedPath { Path = $"/{LookupExpiresAtField}/?" });
        policy.IncludedPaths.Add(new IncludedPath { Path = $"/{EventsDueAtField}/?" });
        policy.ExcludedPaths.Add(new ExcludedPath { Path = "/*" });
    }
}
