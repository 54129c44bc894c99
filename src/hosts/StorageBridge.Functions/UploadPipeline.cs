using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace StorageBridge.Functions;

/// <summary>
/// The upload endpoints as one request delegate, built once on the app's services. The worker's own ASP.NET Core
/// pipeline has already routed the request to the catch-all trigger; this runs the bridge's routing and endpoints on
/// the same <see cref="HttpContext"/>, so the Function speaks exactly what the Host speaks.
/// </summary>
public sealed class UploadPipeline
{
    private readonly RequestDelegate _pipeline;

    public UploadPipeline(IServiceProvider services)
    {
        var app = new ApplicationBuilder(services);
        app.UseRouting();
        app.UseEndpoints(FunctionsApp.MapEndpoints);
        app.Run(static context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        _pipeline = app.Build();
    }

    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Endpoint routing skips matching when an endpoint is already set: forget the trigger's endpoint and route values.
        context.SetEndpoint(null);
        context.Request.RouteValues.Clear();
        return _pipeline(context);
    }
}
