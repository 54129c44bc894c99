using StorageBridge.Metadata;
using StorageBridge.Tests.Conformance;

namespace StorageBridge.Core.Tests.Metadata;

/// <summary>
/// The metadata-store conformance suite on the in-memory store. It cannot be shared between processes, so the "second
/// instance" is the same object: the races still run on pool threads against one store.
/// </summary>
public sealed class InMemoryMetadataStoreTests : MetadataStoreConformanceTests
{
    private InMemoryUploadMetadataStore? _last;

    protected override Task<IUploadMetadataStore> CreateStoreAsync()
    {
        _last = new InMemoryUploadMetadataStore();
        return Task.FromResult<IUploadMetadataStore>(_last);
    }

    protected override Task<IUploadMetadataStore> CreateSecondInstanceAsync() =>
        Task.FromResult<IUploadMetadataStore>(_last ?? throw new InvalidOperationException("Create the first store before the second."));
}
