using System.Net;
using System.Net.Sockets;
using System.Text;
using static StorageBridge.GcsEmulator.Tests.TestData;

namespace StorageBridge.GcsEmulator.Tests;

/// <summary>Broken connections and the emulator's fault-injection header.</summary>
[Collection(GcsEmulatorCollection.Name)]
public sealed class FaultTests(GcsEmulatorFixture emulator)
{
    [Fact]
    public async Task Chunk_cut_off_mid_body_keeps_only_whole_256KiB_units()
    {
        string bucket = await emulator.NewBucketAsync();
        Uri session = await emulator.InitiateAsync(bucket, "cut");

        // Announce 768 KiB, send 600 KiB, then end the connection (FIN, so every sent byte reaches the server).
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(session.Host, session.Port);
            NetworkStream stream = tcp.GetStream();
            string head = $"PUT {session.PathAndQuery} HTTP/1.1\r\nHost: {session.Authority}\r\nContent-Length: {3 * Quantum}\r\n" +
                $"Content-Range: bytes 0-{(3 * Quantum) - 1}/*\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(Bytes(600 * 1024));
            tcp.Client.Shutdown(SocketShutdown.Send);

            // Wait (bounded) until the server has finished with the request and closed its side.
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            byte[] sink = new byte[4096];
            try
            {
                while (await stream.ReadAsync(sink, wait.Token) > 0)
                {
                }
            }
            catch (IOException)
            {
                // Kestrel resets a connection whose request body ended early: the request is over either way.
            }
        }

        // How much of the body reached the handler before Kestrel noticed the end depends on timing; what is kept
        // must be whole 256 KiB units of what was sent (here 0, 1 or 2), and exactly those bytes.
        long persisted;
        using (HttpResponseMessage status = await emulator.PutAsync(session, "bytes */*"))
        {
            Assert.Equal(308, (int)status.StatusCode);
            persisted = status.Headers.TryGetValues("Range", out var values) ? long.Parse(values.Single()["bytes=0-".Length..], System.Globalization.CultureInfo.InvariantCulture) + 1 : 0;
        }

        Assert.Contains(persisted, new long[] { 0, Quantum, 2 * Quantum });

        // Resume from there with the rest of the same source: the object is exactly the source.
        byte[] source = Bytes(600 * 1024);
        using HttpResponseMessage done = await emulator.PutAsync(session, $"bytes {persisted}-{source.Length - 1}/{source.Length}", source[(int)persisted..]);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        byte[] stored = await emulator.Http.GetByteArrayAsync(new Uri(emulator.Root, $"storage/v1/b/{bucket}/o/cut?alt=media"));
        Assert.Equal(Sha256(source), Sha256(stored));
    }

    [Fact]
    public async Task Injected_503_persists_nothing_and_short_308_keeps_one_unit_less()
    {
        string bucket = await emulator.NewBucketAsync();
        Uri session = await emulator.InitiateAsync(bucket, "faults");
        byte[] chunk = Bytes(2 * Quantum);

        using (HttpResponseMessage failed = await SendWithInstructionAsync(session, "return-503", chunk))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }

        using (HttpResponseMessage status = await emulator.PutAsync(session, "bytes */*"))
        {
            Assert.Equal(308, (int)status.StatusCode);
            Assert.False(status.Headers.Contains("Range"));
        }

        using HttpResponseMessage shortened = await SendWithInstructionAsync(session, "short-308", chunk);
        Assert.Equal(308, (int)shortened.StatusCode);
        Assert.Equal("bytes=0-262143", string.Join(",", shortened.Headers.GetValues("Range")));
    }

    private async Task<HttpResponseMessage> SendWithInstructionAsync(Uri session, string instruction, byte[] chunk)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = new ByteArrayContent(chunk) };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", $"bytes 0-{chunk.Length - 1}/*");
        request.Headers.TryAddWithoutValidation(GcsHandler.InstructionsHeader, instruction);
        return await emulator.Http.SendAsync(request);
    }
}
