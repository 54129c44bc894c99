using StorageBridge.Tests.Conformance;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.AzureBlob.Tests;

/// <summary>
/// The shared backend suite on Azurite. AllowOverwrite is on because the suite expects a second completion under
/// the same key to replace the object; the default (refuse) is covered in <see cref="AzureBlobCompletionTests"/>.
/// Minimum block 64 KiB so the suite's parts stay small.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobConformanceTests(AzuriteFixture azurite) : BackendConformanceTests
{
    protected override IUploadBackend CreateBackend() =>
        azurite.CreateBackend(new AzureBlobBackendOptions { MinBlockSize = 64 * 1024, AllowOverwrite = true });

    protected override async Task AssertNothingStagedAsync(BackendUpload upload)
    {
        var backend = (AzureBlobBackend)Backend;
        Assert.Empty(await backend.ListStagingAsync(upload, Ct));
    }
}
