using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.Functions;

namespace StorageBridge.Functions.Tests;

/// <summary>
/// The Function App's own configuration (<see cref="FunctionsApp.ConfigureServices"/>) in a Kestrel host on loopback.
/// Requests reach the app the way the worker routes them: an endpoint with the HTTP trigger's route and methods
/// (read from the attribute, so they cannot drift) calls the trigger method <see cref="UploadFunctions.RunUploadsAsync"/>
/// on a <see cref="UploadFunctions"/> activated from the app's services, as the worker activates function classes.
/// </summary>
public sealed class FunctionsTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FunctionsTestHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    public int Port => BaseAddress.Port;

    public static async Task<FunctionsTestHost> StartAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));

        FunctionsApp.ConfigureServices(builder.Services, builder.Configuration);

        var app = builder.Build();
        var trigger = TriggerRoute.Read();
        app.MapMethods("/" + trigger.Route, trigger.Methods, (HttpContext context) =>
            ActivatorUtilities.CreateInstance<UploadFunctions>(context.RequestServices).RunUploadsAsync(context.Request));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new FunctionsTestHost(app, new Uri(address + "/"));
    }

    public UploadFunctions ActivateFunctions() => ActivatorUtilities.CreateInstance<UploadFunctions>(_app.Services);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
