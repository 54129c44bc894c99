using System.Text.Json.Nodes;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;
using StorageBridge.Targets;

namespace StorageBridge.Host;

/// <summary>
/// Serves the browser upload page (web/src/upload.html and .css, web/dist/upload.js; embedded in this assembly) at
/// <c>/</c> and <c>/upload.html</c>, and the list of targets it offers at <c>/upload-page/targets</c>. Embedded, so it
/// works wherever the dll runs (dotnet run, a test's bin folder, a container) without a wwwroot next to the content root.
/// </summary>
internal static class UploadPage
{
    private const string ResourcePrefix = "StorageBridge.Host.UploadPage";
    private const string DefaultFile = "upload.html";

    /// <summary>
    /// Adds the page's static files. They are served only when no endpoint matched, so they never shadow
    /// <c>/uploads/...</c> or <c>/healthz</c>, and only for the three embedded files.
    /// </summary>
    public static WebApplication UseUploadPage(this WebApplication app)
    {
        app.MapGet("/upload-page/targets", (UploadTargetRegistry targets) => Results.Text(DescribeTargets(targets), "application/json"));

        var files = new EmbeddedFileProvider(typeof(UploadPage).Assembly, ResourcePrefix);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, DefaultFileNames = [DefaultFile] });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            // A new Host version must not be mixed with a cached older bundle: revalidate (ETag) on every load.
            OnPrepareResponse = context => context.Context.Response.Headers[HeaderNames.CacheControl] = "no-cache",
        });
        return app;
    }

    /// <summary>Target names (default first) with the limits the page must respect when it picks a chunk size.</summary>
    private static string DescribeTargets(UploadTargetRegistry targets)
    {
        var list = new JsonArray();
        foreach (var target in targets.All.OrderBy(t => t.Name == "default" ? 0 : 1).ThenBy(t => t.Name, StringComparer.Ordinal))
        {
            list.Add(new JsonObject
            {
                ["name"] = target.Name,
                ["maxSize"] = target.Limits.MaxSize,
                ["maxAppendSize"] = target.Limits.MaxAppendSize,
                ["minAppendSize"] = target.Limits.MinAppendSize,
            });
        }

        return list.ToJsonString();
    }
}
