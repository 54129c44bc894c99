using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StorageBridge.Diagnostics;

namespace StorageBridge.Hooks;

/// <summary>
/// The pre-create hook as an HTTP webhook: POSTs the creation as JSON, signed (<see cref="WebhookSignature"/>), and
/// follows the answer: <c>{"reject":{"status":403,"message":"..."}}</c> rejects, <c>{"objectKey":"...",
/// "metadata":{...}}</c> accepts with those, an empty 2xx accepts as requested. It fails closed: no answer within the
/// timeout, a non-2xx status or an answer it cannot read refuse the creation with 503 and Retry-After.
/// </summary>
public sealed partial class PreCreateWebhook : IUploadCreationHook, IDisposable
{
    public const string EventType = "storagebridge.upload.pre-create";

    /// <summary>Retry-After of the 503 answered when the webhook fails.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private const int MaxAnswerBytes = 64 * 1024;
    private readonly PreCreateWebhookOptions _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public PreCreateWebhook(PreCreateWebhookOptions options, TimeProvider time, ILogger<PreCreateWebhook> logger)
        : this(options, time, logger, new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
    }

    /// <summary>With a handler of the caller's (proxies, tests that inject faults); the webhook disposes it.</summary>
    public PreCreateWebhook(PreCreateWebhookOptions options, TimeProvider time, ILogger<PreCreateWebhook> logger, HttpMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = time;
        _logger = logger;
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public async ValueTask<UploadCreationDecision> OnCreatingAsync(UploadCreationContext creation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(creation);
        var body = Serialize(creation);
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation(WebhookSignature.HeaderName, WebhookSignature.Create(_options.Secret!, _time.GetUtcNow(), body));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                LogFailed(_logger, creation.Target, $"status {(int)response.StatusCode}", null);
                return Unavailable();
            }

            var answer = await ReadBoundedAsync(response.Content, timeout.Token).ConfigureAwait(false);
            return answer is null ? Invalid(creation, "the answer is larger than 64 KiB") : Decide(creation, answer);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogFailed(_logger, creation.Target, $"no answer within {_options.Timeout.TotalSeconds:0.###} s", null);
            return Unavailable();
        }
        catch (HttpRequestException ex)
        {
            LogFailed(_logger, creation.Target, "the request failed", ex);
            return Unavailable();
        }
    }

    public void Dispose() => _http.Dispose();

    private static UploadCreationDecision Unavailable() =>
        UploadCreationDecision.Unavailable("The upload cannot be created now: the creation check is unavailable.", RetryAfter);

    private UploadCreationDecision Invalid(UploadCreationContext creation, string problem)
    {
        LogInvalidAnswer(_logger, creation.Target, problem);
        return Unavailable();
    }

    private UploadCreationDecision Decide(UploadCreationContext creation, byte[] answer)
    {
        if (answer.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return UploadCreationDecision.Accept();
        }

        try
        {
            using var document = JsonDocument.Parse(answer);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Invalid(creation, "the answer is not a JSON object");
            }

            if (root.TryGetProperty("reject", out var reject) && reject.ValueKind != JsonValueKind.Null)
            {
                if (reject.ValueKind != JsonValueKind.Object
                    || !reject.TryGetProperty("status", out var status) || !status.TryGetInt32(out var code) || code is < 400 or > 499
                    || !reject.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.String)
                {
                    return Invalid(creation, "'reject' needs a 4xx 'status' and a string 'message'");
                }

                return UploadCreationDecision.Reject(code, message.GetString()!);
            }

            string? objectKey = null;
            if (root.TryGetProperty("objectKey", out var key) && key.ValueKind != JsonValueKind.Null)
            {
                if (key.ValueKind != JsonValueKind.String)
                {
                    return Invalid(creation, "'objectKey' is not a string");
                }

                objectKey = key.GetString();
            }

            Dictionary<string, string>? metadata = null;
            if (root.TryGetProperty("metadata", out var entries) && entries.ValueKind != JsonValueKind.Null)
            {
                if (entries.ValueKind != JsonValueKind.Object)
                {
                    return Invalid(creation, "'metadata' is not an object");
                }

                metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var entry in entries.EnumerateObject())
                {
                    if (entry.Value.ValueKind != JsonValueKind.String)
                    {
                        return Invalid(creation, "'metadata' values must be strings");
                    }

                    metadata[entry.Name] = entry.Value.GetString()!;
                }
            }

            return UploadCreationDecision.Accept(objectKey, metadata);
        }
        catch (JsonException)
        {
            return Invalid(creation, "the answer is not JSON");
        }
    }

    private static async Task<byte[]?> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxAnswerBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>The request body: camelCase JSON (documented in docs/hooks.md).</summary>
    internal static byte[] Serialize(UploadCreationContext creation)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", EventType);
            json.WriteString("target", creation.Target);
            json.WriteString("protocol", creation.Protocol);
            json.WriteString("principal", creation.Owner);
            json.WriteStartArray("claims");
            if (creation.Principal is { Identity.IsAuthenticated: true } principal)
            {
                foreach (var claim in principal.Claims)
                {
                    json.WriteStartObject();
                    json.WriteString("type", claim.Type);
                    json.WriteString("value", claim.Value);
                    json.WriteEndObject();
                }
            }

            json.WriteEndArray();
            if (creation.Length is long length)
            {
                json.WriteNumber("length", length);
            }
            else
            {
                json.WriteNull("length");
            }

            json.WriteString("contentType", creation.ContentType);
            json.WriteString("fileName", creation.FileName);
            json.WriteStartObject("metadata");
            foreach (var (name, value) in creation.Metadata)
            {
                json.WriteString(name, value);
            }

            json.WriteEndObject();
            json.WriteString("objectKey", creation.ObjectKey);
            if (creation.ConcatenationSources is { } sources)
            {
                json.WriteStartArray("concatenationSources");
                foreach (var source in sources)
                {
                    json.WriteStringValue(source);
                }

                json.WriteEndArray();
            }
            else
            {
                json.WriteNull("concatenationSources");
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    [LoggerMessage(EventIds.Hooks.WebhookFailed, LogLevel.Warning, "Pre-create webhook failed for target {Target} ({Problem}); the creation was refused with 503")]
    private static partial void LogFailed(ILogger logger, string target, string problem, Exception? exception);

    [LoggerMessage(EventIds.Hooks.WebhookInvalidAnswer, LogLevel.Warning, "Pre-create webhook answered something unusable for target {Target} ({Problem}); the creation was refused with 503")]
    private static partial void LogInvalidAnswer(ILogger logger, string target, string problem);
}
