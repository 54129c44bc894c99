using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace StorageBridge.GcsEmulator;

/// <summary>Builds the emulator app, so tests can host it in-process on a free port as well.</summary>
public static class GcsEmulatorApp
{
    /// <summary>Configuration key for the folder that holds object and session bytes (default: a new temp folder).</summary>
    public const string DataRootKey = "GcsEmulator:DataRoot";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            // The content root is never read; pointing it at the binaries avoids watching the caller's folder.
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.ConfigureKestrel(options =>
        {
            // Resumable chunks and simple uploads can be of any size: the bodies are streamed to disk.
            options.Limits.MaxRequestBodySize = null;
            options.Limits.MinRequestBodyDataRate = null;
        });
        builder.Services.Configure<KestrelServerOptions>(options => options.AllowSynchronousIO = false);
        builder.Services.AddSingleton(sp => new GcsStore(sp.GetRequiredService<IConfiguration>()[DataRootKey]));
        builder.Services.AddSingleton<GcsHandler>();
        configure?.Invoke(builder);

        var app = builder.Build();
        var handler = app.Services.GetRequiredService<GcsHandler>();
        app.Run(handler.HandleAsync);
        return app;
    }
}
