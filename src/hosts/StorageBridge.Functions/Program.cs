using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using StorageBridge.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
FunctionsApp.ConfigureServices(builder.Services, builder.Configuration);
builder.Build().Run();
