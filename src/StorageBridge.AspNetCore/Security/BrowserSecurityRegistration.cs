using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace StorageBridge.AspNetCore.Security;

/// <summary>CORS per target and the download switch: their options binders, the per-target policies and the CORS gate.</summary>
internal static class BrowserSecurityRegistration
{
    public static IServiceCollection AddStorageBridgeBrowserSecurity(this IServiceCollection services)
    {
        services.AddCors();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<TargetCorsOptions>, TargetCorsSectionBinder>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<TargetDownloadOptions>, TargetDownloadSectionBinder>());
        services.TryAddSingleton<TargetBrowserPolicies>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITargetRequestGate, CorsGate>());
        return services;
    }
}
