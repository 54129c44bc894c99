using System.Text.Json;
using StorageBridge.Tests;
using Xunit.Abstractions;
using static StorageBridge.Protocol.Tests.Operations.HostUploads;

namespace StorageBridge.Protocol.Tests.Operations;

/// <summary>
/// The Host with <c>Logging:Console:FormatterName=json</c> (the standard console formatter): every line it writes to
/// stdout is one JSON object, the start-up summary names the listening address, the target and the metadata file,
/// and the engine's lines during a request on an upload carry the upload id and the target in their scope.
/// </summary>
public sealed class JsonConsoleLogTests(ITestOutputHelper output)
{
    private const long Size = 300_001;
    private const ulong Seed = 0x0B5E_0002UL;

    [Fact(Timeout = 120_000)]
    public async Task Every_line_is_json_and_the_upload_id_is_in_the_scope()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var host = await HostProcess.StartAsync(
            new HostProcessOptions
            {
                OutputSink = output.WriteLine,
                LogLevel = "Information",
                Environment = new Dictionary<string, string?> { ["Logging__Console__FormatterName"] = "json" },
            },
            cts.Token);
        using var client = CreateClient(host);

        var upload = await CreateAsync(client, host, Size, cts.Token);
        var id = upload.Segments[^1];
        await AppendAsync(client, host, upload, Seed, 0, Size, Size, cts.Token);

        // Output arrives asynchronously: wait (bounded) for the completion line, then check every line.
        JsonElement? completed = null;
        while (completed is null)
        {
            cts.Token.ThrowIfCancellationRequested();
            completed = Lines(host).FirstOrDefault(line => EventId(line) == 2 && InScope(line, id));
            if (completed is null)
            {
                await Task.Delay(100, cts.Token);
            }
        }

        var lines = Lines(host).ToList();
        var summary = Assert.Single(lines, line => EventId(line) == 202);
        var message = summary.GetProperty("Message").GetString()!;
        Assert.Contains($"listening on http://127.0.0.1:{host.Port}", message, StringComparison.Ordinal);
        Assert.Contains($"target default: FileSystem, {host.TargetRoot}", message, StringComparison.Ordinal);
        Assert.Contains($"metadata: SQLite {host.MetadataPath}", message, StringComparison.Ordinal);

        // The append's log lines: the completion (event 2) was written inside the PATCH, with its scope.
        var scope = completed.Value.GetProperty("Scopes").EnumerateArray().First(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("UploadId", out _));
        Assert.Equal(id, scope.GetProperty("UploadId").GetString());
        Assert.Equal("default", scope.GetProperty("Target").GetString());
        Assert.False(string.IsNullOrEmpty(completed.Value.GetProperty("Timestamp").GetString()));
    }

    /// <summary>Every stdout line of the current process generation, parsed (a line that is not JSON fails the test).</summary>
    private static IEnumerable<JsonElement> Lines(HostProcess host)
    {
        foreach (var line in host.Output.Split('\n'))
        {
            const string prefix = "[1:out] ";
            if (!line.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            JsonElement parsed;
            try
            {
                parsed = JsonDocument.Parse(line[prefix.Length..]).RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new Xunit.Sdk.XunitException($"not a JSON line: {line} ({e.Message})");
            }

            yield return parsed;
        }
    }

    private static int EventId(JsonElement line) => line.TryGetProperty("EventId", out var id) ? id.GetInt32() : -1;

    private static bool InScope(JsonElement line, string uploadId) =>
        line.TryGetProperty("Scopes", out var scopes) && scopes.EnumerateArray().Any(s =>
            s.ValueKind == JsonValueKind.Object && s.TryGetProperty("UploadId", out var id) && id.GetString() == uploadId);
}
