using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StorageBridge.Tests;

namespace StorageBridge.Protocol.Tests.Browser;

/// <summary>
/// Headless Debian Chromium driven by playwright-core through tests/clients/browser-driver.mjs: one JSON command
/// per stdin line, one JSON answer per stdout line. A fresh user-data-dir per driver, removed on dispose.
/// </summary>
public sealed class BrowserDriver : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly TimeSpan CommandSlack = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly StringBuilder _stderr = new();
    private readonly Action<string>? _log;
    private int _nextId;

    private BrowserDriver(Process process, Action<string>? log)
    {
        _process = process;
        _log = log;
        _process.OutputDataReceived += (_, e) => OnAnswer(e.Data);
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
    }

    /// <summary>Fails with a clear message when Chromium or the Node packages are missing (./test.sh installs both).</summary>
    public static void EnsureInstalled()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: install Debian's `chromium` (listed in emulators/apt-packages.txt; ./test.sh installs it).");
        var marker = Path.Combine(RepositoryLayout.ClientsDirectory, "node_modules", "playwright-core", "package.json");
        Assert.True(File.Exists(marker), $"{marker} is missing: run `npm ci --prefix tests/clients` (./test.sh does this).");
    }

    public static async Task<BrowserDriver> LaunchAsync(Action<string>? log, CancellationToken cancellationToken)
    {
        EnsureInstalled();
        var start = new ProcessStartInfo
        {
            FileName = "node",
            WorkingDirectory = RepositoryLayout.ClientsDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(RepositoryLayout.ClientsDirectory, "browser-driver.mjs"));
        start.Environment["CHROMIUM_PATH"] = ChromiumPath;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var driver = new BrowserDriver(process, log);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var launched = await driver.SendAsync("launch", new JsonObject(), TimeSpan.FromSeconds(60), cancellationToken);
            log?.Invoke($"chromium {launched["version"]}");
            return driver;
        }
        catch
        {
            await driver.DisposeAsync();
            throw;
        }
    }

    public Task OpenAsync(Uri url, CancellationToken cancellationToken) =>
        SendAsync("open", new JsonObject { ["url"] = url.ToString() }, TimeSpan.FromSeconds(30), cancellationToken);

    /// <summary>
    /// Chromium's network emulation (CDP Network.emulateNetworkConditions): request bodies throttled to
    /// <paramref name="uploadBytesPerSecond"/> (null: unthrottled); <paramref name="offline"/>: every request fails.
    /// </summary>
    public Task SetNetworkAsync(long? uploadBytesPerSecond, bool offline, CancellationToken cancellationToken) =>
        SendAsync("network", new JsonObject { ["uploadBytesPerSecond"] = uploadBytesPerSecond ?? -1, ["offline"] = offline }, TimeSpan.FromSeconds(10), cancellationToken);

    public Task AddFilesAsync(IEnumerable<string> paths, CancellationToken cancellationToken) =>
        SendAsync("addFiles", new JsonObject { ["paths"] = new JsonArray([.. paths.Select(p => JsonValue.Create(p))]) }, TimeSpan.FromSeconds(30), cancellationToken);

    /// <summary>Drops the files on the page's drop zone (a DataTransfer of File objects, as a drag from the desktop makes).</summary>
    public Task DropFilesAsync(IEnumerable<string> paths, CancellationToken cancellationToken) =>
        SendAsync("dropFiles", new JsonObject { ["paths"] = new JsonArray([.. paths.Select(p => JsonValue.Create(p))]) }, TimeSpan.FromSeconds(30), cancellationToken);

    /// <summary>Waits until the page shows at least <paramref name="minBytes"/> sent for the file (client-side progress).</summary>
    public async Task<PageRow> WaitForBytesAsync(string name, long minBytes, TimeSpan timeout, CancellationToken cancellationToken) =>
        PageRow.From((await SendAsync("waitFor", new JsonObject { ["name"] = name, ["minBytes"] = minBytes, ["timeoutMs"] = timeout.TotalMilliseconds }, timeout + CommandSlack, cancellationToken))["row"]!);

    public async Task<PageRow> WaitForStateAsync(string name, string state, TimeSpan timeout, CancellationToken cancellationToken) =>
        PageRow.From((await SendAsync("waitFor", new JsonObject { ["name"] = name, ["state"] = state, ["timeoutMs"] = timeout.TotalMilliseconds }, timeout + CommandSlack, cancellationToken))["row"]!);

    public async Task<PageRow> RowAsync(string name, CancellationToken cancellationToken)
    {
        var rows = (await SendAsync("rows", new JsonObject(), TimeSpan.FromSeconds(10), cancellationToken))["rows"]!.AsArray();
        return rows.Select(r => PageRow.From(r!)).Single(r => r.Name == name);
    }

    public Task ClickPauseAsync(string name, CancellationToken cancellationToken) =>
        SendAsync("pause", new JsonObject { ["name"] = name }, TimeSpan.FromSeconds(10), cancellationToken);

    public Task ReloadAsync(CancellationToken cancellationToken) =>
        SendAsync("reload", new JsonObject(), TimeSpan.FromSeconds(30), cancellationToken);

    public Task ScreenshotAsync(string path, CancellationToken cancellationToken) =>
        SendAsync("screenshot", new JsonObject { ["path"] = path }, TimeSpan.FromSeconds(30), cancellationToken);

    public async Task<IReadOnlyDictionary<string, string>> LocalStorageAsync(CancellationToken cancellationToken)
    {
        var entries = (await SendAsync("localStorage", new JsonObject(), TimeSpan.FromSeconds(10), cancellationToken))["entries"]!.AsObject();
        return entries.ToDictionary(e => e.Key, e => e.Value?.GetValue<string>() ?? string.Empty);
    }

    /// <summary>
    /// One upload of the file in the page's <c>#file-input</c> with a real client library of the cross-origin test page
    /// (tests/clients/cross-origin-clients.mjs): <paramref name="client"/> is tus, uppy, resumable or flow.
    /// </summary>
    public async Task<ClientRun> RunClientAsync(string client, JsonObject options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = (await SendAsync("runClient", new JsonObject { ["client"] = client, ["options"] = options }, timeout, cancellationToken))["result"]!;
        return new ClientRun(
            result["ok"]?.GetValue<bool>() == true,
            result["url"]?.GetValue<string>(),
            result["error"]?.GetValue<string>(),
            [.. (result["statuses"]?.AsArray() ?? []).Select(s => s?.GetValue<int>() ?? 0)]);
    }

    /// <summary>The /uploads/ requests the page sent since the last call: "METHOD /path?query".</summary>
    public async Task<IReadOnlyList<string>> TakeRequestsAsync(CancellationToken cancellationToken)
    {
        var requests = (await SendAsync("requests", new JsonObject(), TimeSpan.FromSeconds(10), cancellationToken))["requests"]!.AsArray();
        return [.. requests.Select(r => $"{r!["method"]} {r["path"]}{r["search"]}")];
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await SendAsync("close", new JsonObject(), TimeSpan.FromSeconds(15), CancellationToken.None);
                _process.StandardInput.Close();
                using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await _process.WaitForExitAsync(exit.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or IOException or TimeoutException)
        {
            // Falls through to the kill below.
        }
        finally
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }

            _process.Dispose();
        }
    }

    private async Task<JsonObject> SendAsync(string command, JsonObject arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        arguments["id"] = id;
        arguments["cmd"] = command;
        await _process.StandardInput.WriteLineAsync(arguments.ToJsonString().AsMemory(), cancellationToken);
        await _process.StandardInput.FlushAsync(cancellationToken);
        try
        {
            var result = await answer.Task.WaitAsync(timeout, cancellationToken);
            if (result["ok"]?.GetValue<bool>() != true)
            {
                throw new InvalidOperationException($"browser-driver.mjs '{command}' failed: {result["error"]}\n--- driver stderr ---\n{StandardError}");
            }

            return result;
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"browser-driver.mjs '{command}' did not answer within {timeout.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s.\n--- driver stderr ---\n{StandardError}");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    private void OnAnswer(string? line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            if (line is null)
            {
                // The driver exited: nothing it still owes will come.
                foreach (var pending in _pending.Values)
                {
                    pending.TrySetException(new InvalidOperationException($"browser-driver.mjs exited.\n--- driver stderr ---\n{StandardError}"));
                }
            }

            return;
        }

        JsonObject? message;
        try
        {
            message = JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            _log?.Invoke("driver: " + line);
            return;
        }

        if (message?["id"]?.GetValue<int>() is { } id && _pending.TryGetValue(id, out var answer))
        {
            answer.TrySetResult(message);
        }
    }
}

/// <summary>One file row of the upload page, read from its data-* attributes.</summary>
public sealed record PageRow(string Name, string State, long Bytes, long Total, string? UploadUrl, string? Location, string Status)
{
    public static PageRow From(JsonNode row) => new(
        row["name"]!.GetValue<string>(),
        row["state"]!.GetValue<string>(),
        row["bytes"]!.GetValue<long>(),
        row["total"]!.GetValue<long>(),
        row["uploadUrl"]?.GetValue<string>(),
        row["location"]?.GetValue<string>(),
        row["status"]?.GetValue<string>() ?? string.Empty);
}

/// <summary>What a client library reported in the page: success with the upload's URL, or its error and the HTTP statuses it saw.</summary>
public sealed record ClientRun(bool Ok, string? Url, string? Error, IReadOnlyList<int> Statuses)
{
    public override string ToString() => $"ok={Ok} url={Url} statuses=[{string.Join(',', Statuses)}] error={Error}";
}
