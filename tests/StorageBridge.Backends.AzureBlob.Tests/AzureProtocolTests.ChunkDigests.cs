using StorageBridge.Tests;

namespace StorageBridge.Backends.AzureBlob.Tests;

public sealed partial class AzureProtocolTests
{
    /// <summary>
    /// Direct parts (4 MiB chunks are blocks): a chunk whose bytes differ from the block already recorded for its number
    /// is refused with 400 and never replaces it; identical duplicates stay 200.
    /// </summary>
    [Theory]
    [InlineData(ChunkMode.Octet)]
    [InlineData(ChunkMode.Multipart)]
    public Task A_differing_copy_of_a_stored_chunk_is_refused_on_direct_parts(ChunkMode mode) =>
        ChunkHijackScenario.RunAsync(Client, "uploads/azure", 4 * MiB, 3, mode);
}
