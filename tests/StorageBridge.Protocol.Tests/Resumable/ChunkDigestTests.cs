using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests;

namespace StorageBridge.Protocol.Tests.Resumable;

/// <summary>A chunk whose bytes differ from the stored chunk of the same number is refused (400), on the ordered path (file target).</summary>
[Collection(IetfServerCollection.Name)]
public sealed class ChunkDigestTests(IetfServerFixture server)
{
    [Theory]
    [InlineData(ChunkMode.Octet, 3)]
    [InlineData(ChunkMode.Multipart, 3)]
    [InlineData(ChunkMode.Octet, 1)]
    public Task A_differing_copy_of_a_stored_chunk_is_refused_and_nothing_of_it_is_kept(ChunkMode mode, int chunkCount) =>
        ChunkHijackScenario.RunAsync(server.Client, IetfServerFixture.Prefix + "/default", 4096, chunkCount, mode);
}
