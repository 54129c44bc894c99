using System.Globalization;
using System.Net;
using StorageBridge.Tests;
using Xunit.Abstractions;
using static StorageBridge.Protocol.Tests.Operations.HostUploads;

namespace StorageBridge.Protocol.Tests.Operations;

/// <summary>
/// The Host with <c>StorageBridge:Telemetry:Prometheus:Enabled</c>: <c>/metrics</c> is scraped before and after one
/// completed upload (two appends) and one cancelled upload, and every StorageBridge counter moved by exactly what
/// happened in between.
/// </summary>
public sealed class PrometheusScrapeTests(ITestOutputHelper output)
{
    private const long Size = 1_000_007;
    private const ulong Seed = 0x0B5E_0001UL;

    [Fact(Timeout = 120_000)]
    public async Task Counters_move_by_exactly_one_upload_and_one_cancellation()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var host = await HostProcess.StartAsync(
            new HostProcessOptions
            {
                OutputSink = output.WriteLine,
                Environment = new Dictionary<string, string?> { ["StorageBridge__Telemetry__Prometheus__Enabled"] = "true" },
            },
            cts.Token);
        using var client = CreateClient(host);

        var before = await ScrapeAsync(client, cts.Token);

        var upload = await CreateAsync(client, host, Size, cts.Token);
        var offset = await AppendAsync(client, host, upload, Seed, 0, 600_000, Size, cts.Token);
        await AppendAsync(client, host, upload, Seed, offset, Size, Size, cts.Token);

        var cancelled = await CreateAsync(client, host, 10, cts.Token);
        using (var delete = new HttpRequestMessage(HttpMethod.Delete, cancelled))
        {
            delete.Headers.Add("Upload-Draft-Interop-Version", "8");
            using var response = await client.SendAsync(delete, cts.Token);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        var after = await ScrapeAsync(client, cts.Token);
        output.WriteLine(string.Join('\n', after.Where(s => s.Key.StartsWith("storagebridge_", StringComparison.Ordinal) && !s.Key.Contains("_bucket", StringComparison.Ordinal)).Select(s => $"{s.Key} {s.Value}")));

        double Delta(string series) => after.GetValueOrDefault(series) - before.GetValueOrDefault(series);
        Assert.Equal(2, Delta("storagebridge_uploads_created_total{target=default}"));
        Assert.Equal(1, Delta("storagebridge_uploads_completed_total{target=default}"));
        Assert.Equal(1, Delta("storagebridge_uploads_cancelled_total{target=default}"));
        Assert.Equal(Size, Delta("storagebridge_bytes_appended_bytes_total{target=default}"));
        Assert.Equal(0, after["storagebridge_uploads_active{target=default}"]);
        Assert.Equal(2, Delta("storagebridge_append_duration_seconds_count"));
        Assert.Equal(2, Delta("storagebridge_backend_call_duration_seconds_count{backend=FileSystem,operation=Start,target=default}"));
        Assert.Equal(1, Delta("storagebridge_backend_call_duration_seconds_count{backend=FileSystem,operation=Complete,target=default}"));
        Assert.Equal(1, Delta("storagebridge_backend_call_duration_seconds_count{backend=FileSystem,operation=Abort,target=default}"));
        Assert.Equal(0, Delta("storagebridge_backend_call_errors_total{backend=FileSystem,operation=Complete,target=default}"));
        Assert.Equal(2, Delta("storagebridge_metadata_call_duration_seconds_count{operation=Create}"));
    }

    /// <summary>
    /// Series of the text exposition format keyed by name and labels (sorted, quotes dropped, the exporter's
    /// <c>otel_scope_name</c> left out): <c>name{a=x,b=y}</c>, or the bare name without labels.
    /// </summary>
    private static async Task<Dictionary<string, double>> ScrapeAsync(HttpClient client, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync("metrics", cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in (await response.Content.ReadAsStringAsync(cancellationToken)).Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var close = line.LastIndexOf('}');
            var open = line.IndexOf('{', StringComparison.Ordinal);
            var name = open < 0 ? line[..line.IndexOf(' ', StringComparison.Ordinal)] : line[..open];
            var labels = open < 0
                ? []
                : line[(open + 1)..close].Split(',')
                    .Select(label => label.Replace("\"", "", StringComparison.Ordinal))
                    .Where(label => !label.StartsWith("otel_scope_", StringComparison.Ordinal))
                    .Order(StringComparer.Ordinal)
                    .ToArray();
            var value = line[((open < 0 ? name.Length : close + 1))..].Trim().Split(' ')[0];
            var key = labels.Length == 0 ? name : $"{name}{{{string.Join(',', labels)}}}";
            series[key] = double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return series;
    }
}
