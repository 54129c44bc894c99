using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Http;

/// <summary>HTTP details every protocol front-end shares.</summary>
internal static class UploadHttp
{
    /// <summary>The upload resource's URL path (with PathBase), as sent in Location.</summary>
    public static string Location(HttpContext context, UploadRecord upload) =>
        $"{context.Request.PathBase}{ResumableUploadEndpoints.UploadPath(context, upload.Target, upload.Id)}";

    public static void DisableBodySizeLimit(HttpContext context)
    {
        // Appends are streamed and bounded by the target's own limits, not Kestrel's 30 MB default.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = null;
        }
    }
}
