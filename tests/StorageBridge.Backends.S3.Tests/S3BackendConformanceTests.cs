using Amazon.S3;
using StorageBridge.Tests.Conformance;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>The shared backend conformance suite on S3 (fauxqs, or the endpoint from STORAGEBRIDGE_S3_*).</summary>
[Collection(S3Collection.Name)]
public sealed class S3BackendConformanceTests(S3Endpoint endpoint) : BackendConformanceTests
{
    protected override IUploadBackend CreateBackend() => new S3Backend(endpoint.CreateClient(), endpoint.Options("conformance/"));

    protected override string NewObjectKey() => $"{endpoint.RunPrefix}conformance/{UploadIds.New()}/object.bin";

    /// <summary>Looks for every tail key the upload could have used, with a separate client.</summary>
    protected override async Task AssertNothingStagedAsync(BackendUpload upload)
    {
        var backend = (S3Backend)Backend;
        using var client = endpoint.CreateClient();
        for (var sequence = 1; sequence <= upload.TailSequence + 1; sequence++)
        {
            var key = backend.TailKey(upload.Id, sequence);
            var ex = await Assert.ThrowsAsync<AmazonS3Exception>(() => client.GetObjectMetadataAsync(endpoint.Bucket, key, Ct));
            Assert.Equal(System.Net.HttpStatusCode.NotFound, ex.StatusCode);
        }
    }
}
