using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.AspNetCore;
using StorageBridge.Backends.AzureBlob;
using StorageBridge.Configuration;
using StorageBridge.FileSystem;

namespace StorageBridge.Functions;

/// <summary>
/// The Function App's services and endpoints, in one place so Program.cs and the tests run the same configuration:
/// the Host's upload endpoints over a Cosmos DB metadata store and Azure Blob targets, with the Functions profile.
/// </summary>
public static class FunctionsApp
{
    /// <summary>Where the upload endpoints live; host.json sets routePrefix "" so the URLs match the Host's.</summary>
    public const string UploadsPrefix = "/uploads";

    /// <summary>
    /// The Functions front end's request body cap (100 MB, 104,857,600 bytes): a larger append would be cut off by the
    /// platform before the bridge sees it, so every target advertises at most this as its max-append-size.
    /// </summary>
    public static readonly ByteSize FrontEndBodyLimit = ByteSize.FromMebibytes(100);

    public static void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddRouting();
        // A Function App is on the internet: exposed, whatever the configuration says (docs/limits.md).
        services.AddStorageBridge(configuration, options => options.Exposed = true).UseCosmosMetadata();
        services.AddStorageBridgeAzureBlob();
        UseFunctionsProfile<AzureBlobTargetOptions>(services);
        UseFunctionsProfile<FileSystemTargetOptions>(services);
        services.AddSingleton<UploadPipeline>();
    }

    /// <summary>
    /// The Host's upload endpoints; the HTTP trigger runs them through <see cref="UploadPipeline"/>. No /healthz: only
    /// the trigger's route (uploads/...) reaches the worker, and the platform watches the host process itself.
    /// </summary>
    public static void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapResumableUploads(UploadsPrefix);
    }

    /// <summary>
    /// The front end cannot forward 1xx responses and cuts bodies past <see cref="FrontEndBodyLimit"/>: no 104 interim
    /// responses, and MaxAppendSize no larger than the cap (a smaller configured value stays).
    /// </summary>
    private static void UseFunctionsProfile<TOptions>(IServiceCollection services)
        where TOptions : StorageBridgeTargetOptions =>
        services.PostConfigureAll<TOptions>(options =>
        {
            options.InterimResponses = false;
            if (options.MaxAppendSize is not { } max || max.Bytes > FrontEndBodyLimit.Bytes)
            {
                options.MaxAppendSize = FrontEndBodyLimit;
            }
        });
}
