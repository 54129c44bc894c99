using System.Net;
using StorageBridge.Tests;

namespace StorageBridge.Protocol.Tests.Startup;

/// <summary>
/// The Host's embedded default (a file target <c>default</c> under <c>data/objects</c> of the working directory) exists
/// only when no target is configured; a deployment that configures its targets gets exactly those.
/// </summary>
public sealed class EmbeddedDefaultTargetTests
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    [Fact]
    public async Task With_no_target_configured_the_default_file_target_serves_under_data_objects()
    {
        await using var host = await HostProcess.StartAsync(
            new HostProcessOptions { Environment = new Dictionary<string, string?> { ["StorageBridge__Targets__default__Root"] = null } },
            _timeout.Token);
        using var client = new HttpClient { BaseAddress = host.BaseAddress };

        var upload = await IetfUploadRequests.CreateAsync(client, "uploads/default", 3, _timeout.Token);
        await IetfUploadRequests.AppendAsync(client, upload, 5, 0, 3, 3, _timeout.Token);

        var id = upload.Segments[^1];
        Assert.True(File.Exists(Path.Combine(host.DataDirectory, "data", "objects", id)), host.Describe("the object is not under data/objects"));
    }

    [Fact]
    public async Task A_configured_target_replaces_the_embedded_default()
    {
        var root = Path.Combine(Path.GetTempPath(), "sb-only-target-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var host = await HostProcess.StartAsync(
                new HostProcessOptions
                {
                    Environment = new Dictionary<string, string?>
                    {
                        ["StorageBridge__Targets__default__Root"] = null,
                        ["StorageBridge__Targets__photos__Root"] = root,
                    },
                },
                _timeout.Token);
            using var client = new HttpClient { BaseAddress = host.BaseAddress };

            using var missing = await client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "uploads/default"), _timeout.Token);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            await IetfUploadRequests.CreateAsync(client, "uploads/photos", 1, _timeout.Token);
            Assert.False(Directory.Exists(Path.Combine(host.DataDirectory, "data", "objects")));
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
