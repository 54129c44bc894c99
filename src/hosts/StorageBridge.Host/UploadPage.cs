using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace StorageBridge.Host;

/// <summary>
/// Serves the browser upload page (web/src/upload.html and .css, web/dist/upload.js; embedded in this assembly) at <c>/</c> and
/// <c>/upload.html</c>. Embedded, so it works wherever the dll runs (dotnet run, a test's bin folder, a container)
/// without a wwwroot next to the content root.
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
}
