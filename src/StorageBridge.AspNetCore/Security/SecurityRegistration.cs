using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace StorageBridge.AspNetCore.Security;

/// <summary>Registers per-target authentication (schemes, settings, the request gate). Called by <c>AddStorageBridge</c>.</summary>
internal static class SecurityRegistration
{
    public static void AddTargetAuthentication(this IServiceCollection services)
    {
        services.AddAuthentication();
        services.TryAddSingleton<TargetAuthentication>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<TargetAuthOptions>, TargetAuthSectionBinder>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<JwtBearerOptions>, JwtSchemeOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<JwtBearerOptions>, JwtBearerPostConfigureOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITargetRequestGate, AuthenticationGate>());
    }
}
