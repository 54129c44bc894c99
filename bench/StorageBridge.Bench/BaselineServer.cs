using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace StorageBridge.Bench;

/// <summary>
/// The baseline: a minimal Kestrel app that does only what any upload endpoint must do — create an empty
/// file, then stream each request body to that file at the given offset (1 MiB pooled buffer, one write per
/// full buffer). No metadata store, no checks
/// beyond "offset equals the file's length". Started as a separate process: <c>StorageBridge.Bench --baseline-server --urls ...</c>.
/// Files go to the same configuration key the Host uses: StorageBridge:Targets:default:Root.
/// </summary>
internal static class BaselineServer
{
    public const string Argument = "--baseline-server";

    private const int BufferSize = 1024 * 1024;

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(args.Where(a => a != Argument).ToArray());
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestBodySize = null);
        var root = builder.Configuration["StorageBridge:Targets:default:Root"];
        if (string.IsNullOrEmpty(root))
        {
            await Console.Error.WriteLineAsync("StorageBridge:Targets:default:Root (env StorageBridge__Targets__default__Root) is required");
            return 2;
        }

        Directory.CreateDirectory(root);
        var app = builder.Build();
        app.MapGet("/healthz", (HttpContext ctx) =>
        {
            ctx.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        });
        app.MapPost("/baseline", (HttpContext ctx) =>
        {
            var id = Guid.NewGuid().ToString("N");
            File.Create(Path.Combine(root, id)).Dispose();
            ctx.Response.StatusCode = StatusCodes.Status201Created;
            ctx.Response.Headers.Location = "/baseline/" + id;
            return Task.CompletedTask;
        });
        app.MapMethods("/baseline/{id}", ["PATCH"], async (HttpContext ctx) =>
        {
            var id = (string)ctx.Request.RouteValues["id"]!;
            if (id.Length != 32 || !id.All(char.IsAsciiHexDigitLower) || !long.TryParse(ctx.Request.Headers["Upload-Offset"], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                ctx.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            var path = Path.Combine(root, id);
            if (!File.Exists(path))
            {
                ctx.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None, bufferSize: 0, useAsync: true);
            if (file.Length != offset)
            {
                ctx.Response.StatusCode = StatusCodes.Status409Conflict;
                ctx.Response.Headers["Upload-Offset"] = file.Length.ToString(CultureInfo.InvariantCulture);
                return;
            }

            file.Position = offset;
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                // Large writes (like the bridge's part buffer), not one write per socket read.
                int read;
                while ((read = await ctx.Request.Body.ReadAtLeastAsync(buffer.AsMemory(0, BufferSize), BufferSize, throwOnEndOfStream: false, ctx.RequestAborted)) > 0)
                {
                    await file.WriteAsync(buffer.AsMemory(0, read), ctx.RequestAborted);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
            ctx.Response.Headers["Upload-Offset"] = file.Position.ToString(CultureInfo.InvariantCulture);
        });

        await app.RunAsync(cancellationToken);
        return 0;
    }
}
