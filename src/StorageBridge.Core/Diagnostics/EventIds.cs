namespace StorageBridge.Diagnostics;

/// <summary>
/// Every logging event id of StorageBridge, one per event, grouped by area. Ranges keep areas apart so a log filter
/// can select an area by range; a test checks that every <c>[LoggerMessage]</c> of the StorageBridge assemblies takes
/// its id from here and that no id is used twice. Ids already published before the table existed kept their values.
/// </summary>
public static class EventIds
{
    /// <summary>The upload engine (category <c>UploadCoordinator</c>): 1–99.</summary>
    public static class Engine
    {
        public const int UploadCreated = 1;
        public const int UploadCompleted = 2;
        public const int UploadCancelled = 3;
        public const int UploadExpired = 4;
        public const int CleanupFailed = 5;
        public const int WaitingForLease = 6;
        public const int AppendInterrupted = 7;
        public const int LeaseLost = 8;
        public const int ReprDigestMismatch = 9;
        public const int SessionReconciled = 20;
        public const int SessionGone = 21;
        public const int InvalidatedPastLength = 30;
        public const int CompletedUploadCancelled = 31;
    }

    /// <summary>Completion events: the outbox, its dispatcher and the webhook sink: 800–849.</summary>
    public static class Events
    {
        public const int Delivered = 800;
        public const int DeadLettered = 801;
        public const int DeliveryFailed = 802;
        public const int DispatchFailed = 803;
        public const int DispatchRoundFailed = 804;
        public const int DispatcherStarted = 805;
        public const int LeaseLost = 806;
        public const int MaintenanceDispatched = 807;
        public const int MaintenanceDispatchFailed = 808;
    }

    /// <summary>The IETF resumable upload front-end: 100–199.</summary>
    public static class Ietf
    {
        public const int InterimNotSent = 100;
    }

    /// <summary>Hosted services (expiry cleanup): 200–299.</summary>
    public static class Hosting
    {
        public const int ExpiryCleaned = 200;
        public const int ExpiryRoundFailed = 201;
        public const int Started = 202;
    }

    /// <summary>The endpoint mapping shared by the front-ends (failures turned into status codes): 300–399.</summary>
    public static class Endpoint
    {
        public const int RequestFailed = 300;
        public const int StorageUnavailable = 301;
        public const int StorageRefused = 302;
    }

    /// <summary>The tus 1.0 front-end: 400–499.</summary>
    public static class Tus
    {
        public const int Created = 400;
    }

    /// <summary>The Resumable.js / Flow.js front-end: 500–599.</summary>
    public static class Resumable
    {
        public const int ChunkStored = 500;
        public const int ChunkReplayStopped = 501;
        public const int ChunkReplayFailed = 502;
        public const int ChunkCleanupFailed = 503;
        public const int ChunkDiffers = 504;
    }

    /// <summary>Authentication, authorization and ownership: 600–649.</summary>
    public static class Security
    {
        public const int CompletionRefused = 600;
        public const int AuthenticationFailed = 601;
        public const int AccessDenied = 602;
    }

    /// <summary>Browsers: CORS per target and downloads: 650–699.</summary>
    public static class Browsers
    {
        public const int OriginRefused = 650;
    }

    /// <summary>Creation hooks and the pre-create webhook: 850–899.</summary>
    public static class Hooks
    {
        public const int Rejected = 850;
        public const int InvalidObjectKey = 851;
        public const int WebhookFailed = 852;
        public const int WebhookInvalidAnswer = 853;
    }

    /// <summary>The S3 backend: 4000–4099.</summary>
    public static class S3
    {
        public const int Started = 4001;
        public const int Completed = 4002;
        public const int Aborted = 4003;
        public const int Concatenated = 4004;
    }

    /// <summary>The Azure Blob backend: 4100–4199.</summary>
    public static class AzureBlob
    {
        public const int FoundCommittedBlob = 4101;
        public const int RefusedOverwrite = 4102;
    }

    /// <summary>The Google Cloud Storage backend: 4200–4299.</summary>
    public static class Gcs
    {
        public const int ShortWrite = 4201;
        public const int Retrying = 4202;
        public const int SessionAhead = 4203;
        public const int RequestRetrying = 4204;
        public const int ForeignObject = 4205;
    }

    /// <summary>
    /// The completion event queue sinks (Azure Storage Queues, SQS): 4300–4399, lent from the file-system backend's
    /// range (it has no events).
    /// </summary>
    public static class QueueSinks
    {
        public const int AzureQueueCreated = 4301;
        public const int AzureQueueDelivered = 4302;
        public const int SqsDelivered = 4311;
    }

    // 5000–5099: the SQLite metadata store (no events yet).

    /// <summary>The Cosmos DB metadata store: 5100–5199.</summary>
    public static class Cosmos
    {
        public const int Ready = 5101;
        public const int RetryingTransient = 5102;
        public const int TtlOff = 5103;
        public const int EventsIndexAdded = 5104;
        public const int EventsIndexMissing = 5105;
    }

    /// <summary>The PostgreSQL metadata store: 5200–5299.</summary>
    public static class Postgres
    {
        public const int Ready = 5201;
        public const int SchemaMigrated = 5202;
        public const int RetryingTransient = 5203;
    }

    /// <summary>The DynamoDB metadata store: 5300–5399.</summary>
    public static class DynamoDb
    {
        public const int Ready = 5301;
        public const int TableCreated = 5302;
        public const int TtlOff = 5303;
        public const int RetryingUnprocessed = 5304;
    }

    /// <summary>Quotas and abuse limits (rate limits, open uploads, metadata and concatenation bounds): 700–749.</summary>
    public static class Limits
    {
        public const int CreationRateExceeded = 700;
        public const int ByteRateExceeded = 701;
        public const int CreationRefused = 702;
    }

    /// <summary>
    /// The maintenance endpoint and the hosted expiry timer switch (hosts without a running timer, e.g. AWS Lambda):
    /// 5350–5399, lent from the DynamoDB range.
    /// </summary>
    public static class Maintenance
    {
        public const int Swept = 5350;
        public const int SweepFailed = 5351;
        public const int TimerOff = 5352;
    }
}
