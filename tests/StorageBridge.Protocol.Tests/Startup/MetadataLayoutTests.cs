using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Configuration;
using StorageBridge.FileSystem;
using StorageBridge.Metadata.Sqlite;

namespace StorageBridge.Protocol.Tests.Startup;

/// <summary>
/// The SQLite database never lives inside a FileSystem target's root, where an object key (say <c>{filename}/{id}</c>
/// with a file named like the database) could name it: the defaults keep them apart, a layout that mixes them stops
/// start-up naming the target's Root key.
/// </summary>
public sealed class MetadataLayoutTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sb-layout-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Defaults_put_objects_and_metadata_in_separate_folders()
    {
        Assert.Equal("data/objects", FileSystemTargetOptions.DefaultRoot);
        Assert.Equal("data/metadata/storagebridge.db", SqliteMetadataOptions.DefaultPath);
        var objects = Path.GetFullPath(FileSystemTargetOptions.DefaultRoot) + Path.DirectorySeparatorChar;
        Assert.False(Path.GetFullPath(SqliteMetadataOptions.DefaultPath).StartsWith(objects, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("storagebridge.db")]
    [InlineData("nested/deeper/uploads.db")]
    public async Task A_database_inside_a_file_target_root_stops_start_up_naming_the_root_key(string database)
    {
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Path"] = Path.Combine(_root, "files", database),
            ["StorageBridge:Targets:default:Root"] = Path.Combine(_root, "elsewhere"),
            ["StorageBridge:Targets:photos:Root"] = Path.Combine(_root, "files"),
        };

        // Mapping the endpoints builds the store (and so checks); a host that maps nothing fails as it starts.
        var error = await Assert.ThrowsAsync<StorageBridgeConfigurationException>(async () =>
        {
            await using var app = Build(settings);
            await app.StartAsync();
        });
        Assert.Equal("StorageBridge:Targets:photos:Root", error.Key);
        Assert.Contains("StorageBridge:Metadata:Path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_named_like_the_database_is_an_ordinary_object_when_the_folders_are_apart()
    {
        // The layout of the new defaults (objects and metadata side by side) with the key template that used to collide.
        await using var app = Build(new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Path"] = Path.Combine(_root, "data", "metadata", "storagebridge.db"),
            ["StorageBridge:Targets:default:Root"] = Path.Combine(_root, "data", "objects"),
            ["StorageBridge:Targets:default:KeyTemplate"] = "{filename}/{id}",
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address + "/") };

        var data = System.Text.Encoding.ASCII.GetBytes("not a database");
        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent(data) };
            request.Headers.Add("Tus-Resumable", "1.0.0");
            request.Headers.Add("Upload-Length", data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add("Upload-Metadata", "filename " + Convert.ToBase64String("storagebridge.db"u8.ToArray()));
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/offset+octet-stream");
            using var created = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            using var download = await client.GetAsync(created.Headers.Location!.OriginalString.TrimStart('/') + "/content");
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal(data, await download.Content.ReadAsByteArrayAsync());
        }

        await app.StopAsync();
    }

    private static WebApplication Build(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddStorageBridge(builder.Configuration).UseSqliteMetadata();
        var app = builder.Build();
        app.MapResumableUploads("/uploads");
        return app;
    }
}
