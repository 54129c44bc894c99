using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using StorageBridge.AspNetCore;

namespace StorageBridge.Protocol.Tests.Security;

/// <summary>
/// The application's own authentication and a named authorization policy on the group MapResumableUploads returns,
/// as in any ASP.NET Core app: the policy decides who gets in (401/403 from ASP.NET Core), and the principal it
/// admitted owns what it creates (another user of the app gets 404).
/// </summary>
public sealed class ApplicationAuthenticationTests : IAsyncLifetime
{
    private SecureServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await SecureServer.StartAsync(
            builder =>
            {
                builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(options =>
                {
                    options.MapInboundClaims = false;
                    options.TokenValidationParameters = new TokenValidationParameters
                    {
                        ValidIssuer = TestTokens.Issuer,
                        ValidAudience = "the-app",
                        IssuerSigningKey = new SymmetricSecurityKey(Convert.FromBase64String(TestTokens.SigningKey)),
                        // The fake clock's "now" is the real one at start: tokens made for it are valid in real time too.
                    };
                });
                builder.Services.AddAuthorization(options => options.AddPolicy("uploaders", policy => policy.RequireClaim("role", "uploader")));
            },
            app =>
            {
                app.UseAuthentication();
                app.UseAuthorization();
                app.MapResumableUploads("/app-uploads").RequireAuthorization("uploaders");
            });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_named_policy_on_the_group_admits_and_the_admitted_principal_owns_its_uploads()
    {
        var uploader = Token("carol", "uploader");
        Assert.Equal(HttpStatusCode.Unauthorized, await CreateAsync(null, "open"));
        Assert.Equal(HttpStatusCode.Forbidden, await CreateAsync(Token("dave", "reader"), "open"));
        using var created = await SendCreateAsync(uploader, "open");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = created.Headers.Location!.OriginalString;
        Assert.StartsWith("/app-uploads/open/", location, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, await DownloadAsync(uploader, location));
        Assert.Equal(HttpStatusCode.NotFound, await DownloadAsync(Token("erin", "uploader"), location));
    }

    private string Token(string subject, string role) =>
        _server.Tokens.Jwt(subject, tenant: null, audience: "the-app", claims: new Dictionary<string, object> { ["role"] = role });

    private async Task<HttpStatusCode> CreateAsync(string? token, string target)
    {
        using var response = await SendCreateAsync(token, target);
        return response.StatusCode;
    }

    private async Task<HttpResponseMessage> SendCreateAsync(string? token, string target)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/app-uploads/{target}") { Content = new ByteArrayContent([1, 2, 3]) };
        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Complete", "?1");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await _server.Client.SendAsync(request);
    }

    private async Task<HttpStatusCode> DownloadAsync(string token, string location)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, location + "/content");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _server.Client.SendAsync(request);
        return response.StatusCode;
    }
}
