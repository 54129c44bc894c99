using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StorageBridge.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

// The worker's own Kestrel (behind the Functions host) would cap bodies at 30,000,000 bytes. The upload endpoints lift
// the limit per request; this keeps it lifted even if something reads the body first. The front end caps it anyway.
builder.Services.Configure<KestrelServerOptions>(options => options.Limits.MaxRequestBodySize = null);

FunctionsApp.ConfigureServices(builder.Services, builder.Configuration);
var host = builder.Build();

// Build the upload endpoints now, not on the first request: bad configuration (an exposed target that states no
// authentication, a bad key) stops the worker with a message naming the key instead of answering 500 later.
host.Services.GetRequiredService<UploadPipeline>();
host.Run();
