using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using StorageBridge.Tests;
using Xunit.Abstractions;
using static StorageBridge.Protocol.Tests.Operations.HostUploads;

namespace StorageBridge.Protocol.Tests.Operations;

/// <summary>
/// SIGTERM while a PATCH body is half sent: the Host tells the append to stop, stores what arrived, answers the PATCH
/// with that offset and exits with code 0 (well within its shutdown timeout). After a restart HEAD reports exactly the
/// answered offset, and the upload resumes from there to a byte-exact object.
/// </summary>
public sealed class GracefulShutdownTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;
    private const long Size = 16 * MiB;
    private const ulong Seed = 0x0B5E_0003UL;

    [Fact(Timeout = 240_000)]
    public async Task Sigterm_during_a_PATCH_keeps_every_acknowledged_byte()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var host = await HostProcess.StartAsync(
            new HostProcessOptions
            {
                OutputSink = output.WriteLine,
                LogLevel = "Information",
                Environment = new Dictionary<string, string?> { ["StorageBridge__ShutdownTimeout"] = "60s" },
            },
            cts.Token);

        Uri upload;
        long answered;
        long sent;
        long acknowledged;
        using (var client = CreateClient(host))
        {
            upload = await CreateAsync(client, host, Size, cts.Token);
            acknowledged = await AppendAsync(client, host, upload, Seed, 0, 4 * MiB, Size, cts.Token);

            // A raw connection (HttpClient would not surface the answer while its body is unfinished): the PATCH
            // announces 8 MiB, sends 3 MiB + 4321 bytes, then waits.
            sent = (3 * MiB) + 4321;
            var body = new byte[sent];
            DeterministicData.Fill(Seed, acknowledged, body);
            await using var connection = await RawHttpConnection.ConnectAsync(host.Port);
            await connection.SendAsync(RawHttpConnection.Head(
                "PATCH",
                upload.PathAndQuery,
                "Upload-Draft-Interop-Version: 8",
                $"Upload-Offset: {acknowledged.ToString(CultureInfo.InvariantCulture)}",
                "Upload-Complete: ?0",
                "Content-Type: application/partial-upload",
                $"Content-Length: {(8 * MiB).ToString(CultureInfo.InvariantCulture)}"));
            await connection.SendAsync(body);
            await Task.Delay(TimeSpan.FromMilliseconds(500), cts.Token); // let the host take in what arrived

            var exitCode = host.Terminate(TimeSpan.FromSeconds(60));
            Assert.True(exitCode == 0, host.Describe($"exit code after SIGTERM: {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "still running"}"));

            // The host answers with the kept offset and then drops the connection (the rest of the body is not
            // wanted); the reset may overtake the answer on the client's side, so the answer is optional here.
            long? reported = null;
            try
            {
                // 204 when the append ended on its own terms; 409 when the shutdown's interruption counts as a newer
                // request taking over (the engine's rule for a cut-short append). Both report the kept offset.
                var response = (await connection.ReadExchangeAsync(timeout: TimeSpan.FromSeconds(30))).Final;
                Assert.True(response.StatusCode is 204 or 409, host.Describe($"the interrupted PATCH answered {response}"));
                if (response.Header("Upload-Offset") is { } value)
                {
                    reported = long.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
            }

            output.WriteLine($"PATCH answered offset {reported?.ToString(CultureInfo.InvariantCulture) ?? "(reset)"}; acknowledged before {acknowledged}, sent {acknowledged + sent}");
            answered = reported ?? -1;
            if (reported is { } offset)
            {
                Assert.InRange(offset, acknowledged + 1, acknowledged + sent);
            }
        }

        await host.RestartAsync(cts.Token);
        using (var client = CreateClient(host))
        {
            var kept = await HeadOffsetAsync(client, host, upload, cts.Token);
            Assert.InRange(kept, acknowledged + 1, acknowledged + sent);
            Assert.True(answered < 0 || answered == kept, $"answered {answered}, HEAD after restart {kept}");
            answered = kept;
            var offset = answered;
            while (offset < Size)
            {
                offset = await AppendAsync(client, host, upload, Seed, offset, 4 * MiB, Size, cts.Token);
            }

            var stored = Path.Combine(host.TargetRoot, upload.Segments[^1]);
            Assert.Equal(DeterministicData.Sha256(Seed, Size), await DeterministicData.Sha256FileAsync(stored, cts.Token));
            using var content = await client.GetAsync(new Uri(upload + "/content"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
            Assert.Equal(HttpStatusCode.OK, content.StatusCode);
            await using var body = await content.Content.ReadAsStreamAsync(cts.Token);
            Assert.Equal(DeterministicData.Sha256(Seed, Size), Convert.ToHexStringLower(await SHA256.HashDataAsync(body, cts.Token)));
        }
    }
}
