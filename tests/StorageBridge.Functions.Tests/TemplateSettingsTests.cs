using System.Net;
using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Microsoft.Azure.Cosmos;
using StorageBridge.Backends.AzureBlob.Tests;
using StorageBridge.Metadata.Cosmos.Tests;
using StorageBridge.Tests;

namespace StorageBridge.Functions.Tests;

/// <summary>
/// The Function App started with the StorageBridge settings of the compiled template itself (so the two cannot drift):
/// only what Azure computes at deployment (the Cosmos DB endpoint, the blob service URI, both reached with the managed
/// identity there) is swapped for the emulators and their keys, and the resources are created beforehand the way the
/// template creates them, since the settings say not to create them at start-up.
/// </summary>
[Collection(CosmosCollection.Name)]
public sealed class TemplateSettingsTests(CosmosEmulatorFixture cosmos, AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task The_template_settings_run_an_IETF_upload_against_pre_created_resources()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        using var template = await BicepCli.CompileAsync();
        var settings = BicepCli.BridgeSettings(template);
        var deploymentComputed = settings.Where(s => s.Value.StartsWith('[')).Select(s => s.Key).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["StorageBridge:Metadata:Endpoint", "StorageBridge:Targets:default:ServiceUri"], deploymentComputed);

        // The records container as the template makes it: partitioned on /id, TTL on without a default.
        var database = settings["StorageBridge:Metadata:Database"];
        var records = "tpl" + Guid.NewGuid().ToString("N")[..12];
        using var inspector = cosmos.CreateClient();
        var created = await inspector.CreateDatabaseIfNotExistsAsync(database, cancellationToken: ct);
        await created.Database.CreateContainerAsync(new ContainerProperties(records, "/id") { DefaultTimeToLive = -1 }, cancellationToken: ct);
        var blobs = "tpl" + Guid.NewGuid().ToString("N")[..12];
        await new BlobContainerClient(azurite.ConnectionString, blobs).CreateAsync(cancellationToken: ct);

        // Secure by default: without parameters the target is not anonymous (the app refuses to start unless a JWT
        // authority or allowAnonymous=true is given). This run deploys as a trial would, with allowAnonymous=true:
        // the emulators have no Entra ID issuer.
        Assert.Equal("false", settings["StorageBridge:Targets:default:Auth:Anonymous"]);
        Assert.Equal("", settings["StorageBridge:Targets:default:Auth:Jwt:Authority"]);
        var configuration = settings.ToDictionary(s => s.Key, s => (string?)s.Value);
        configuration["StorageBridge:Targets:default:Auth:Anonymous"] = "true";
        configuration.Remove("StorageBridge:Targets:default:ServiceUri");
        configuration["StorageBridge:Metadata:Endpoint"] = cosmos.Endpoint.AbsoluteUri;
        configuration["StorageBridge:Metadata:Key"] = cosmos.Key;
        configuration["StorageBridge:Metadata:AcceptAnyServerCertificate"] = cosmos.AcceptAnyServerCertificate ? "true" : "false";
        configuration["StorageBridge:Metadata:Container"] = records;
        configuration["StorageBridge:Targets:default:ConnectionString"] = azurite.ConnectionString;
        configuration["StorageBridge:Targets:default:Container"] = blobs;

        try
        {
            await using var host = await FunctionsTestHost.StartAsync(configuration);
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress };

            const ulong seed = 0xF4;
            const long total = (6 * 1024 * 1024) + 7;
            var upload = await IetfUploadRequests.CreateAsync(client, "uploads/default", total, ct);
            var offset = 0L;
            while (offset < total)
            {
                offset = await IetfUploadRequests.AppendAsync(client, upload, seed, offset, 4 * 1024 * 1024, total, ct);
            }

            var id = upload.AbsolutePath.Split('/')[^1];
            await using var stored = await new BlobContainerClient(azurite.ConnectionString, blobs).GetBlobClient(id).OpenReadAsync(cancellationToken: ct);
            Assert.Equal(DeterministicData.Sha256(seed, total), Convert.ToHexStringLower(await SHA256.HashDataAsync(stored, ct)));

            // The profile values the template repeats: 100 MiB appends at most.
            using var options = new HttpRequestMessage(HttpMethod.Options, "uploads/default");
            options.Headers.Add("Upload-Draft-Interop-Version", "8");
            using var answer = await client.SendAsync(options, ct);
            Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
            Assert.Contains("max-append-size=104857600", answer.Headers.GetValues("Upload-Limit").Single(), StringComparison.Ordinal);
        }
        finally
        {
            await inspector.GetContainer(database, records).DeleteContainerStreamAsync(cancellationToken: CancellationToken.None);
            await new BlobContainerClient(azurite.ConnectionString, blobs).DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
        }
    }
}
