using StorageBridge.Tests;

namespace StorageBridge.Core.Tests.TestSupport;

/// <summary>The one switch that points the emulator fixtures at docker-compose.emulators.yml.</summary>
public sealed class ExternalServicesTests
{
    [Fact]
    public void Without_the_switch_fixtures_start_their_own_emulators()
    {
        Assert.Null(ExternalServices.Get("STORAGEBRIDGE_S3_SERVICEURL", _ => null));
    }

    [Fact]
    public void The_compose_switch_names_the_compose_files_services_and_an_explicit_variable_wins()
    {
        var environment = new Dictionary<string, string?>
        {
            [ExternalServices.Switch] = "compose",
            ["STORAGEBRIDGE_S3_BUCKET"] = "mine",
        };

        string? Get(string name) => ExternalServices.Get(name, n => environment.GetValueOrDefault(n));

        Assert.Equal("http://127.0.0.1:9000", Get("STORAGEBRIDGE_S3_SERVICEURL"));
        Assert.Equal("mine", Get("STORAGEBRIDGE_S3_BUCKET"));
        Assert.Contains("BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;", Get("STORAGEBRIDGE_AZURE_CONNECTIONSTRING"), StringComparison.Ordinal);
        Assert.Equal("http://127.0.0.1:8081/", Get("STORAGEBRIDGE_COSMOS_ENDPOINT"));
    }

    [Fact]
    public void The_compose_defaults_match_the_ports_the_compose_file_publishes()
    {
        var compose = File.ReadAllText(Path.Combine(RepositoryLayout.Root, "docker-compose.emulators.yml"));
        foreach (var port in new[] { "127.0.0.1:9000:9000", "127.0.0.1:10000:10000", "127.0.0.1:8081:8081" })
        {
            Assert.Contains(port, compose, StringComparison.Ordinal);
        }

        Assert.Contains("MINIO_ROOT_USER: minioadmin", compose, StringComparison.Ordinal);
    }
}
