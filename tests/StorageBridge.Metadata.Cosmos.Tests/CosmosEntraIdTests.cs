using System.Collections.Concurrent;
using Azure.Core;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.Cosmos.Tests;

/// <summary>
/// Without a Key the store signs its requests with an Entra ID token (type=aad) from the credential. The emulator
/// does not check signatures, so this proves the client is built on the credential and every request carries a
/// token from it; that Entra ID and the role assignment accept the identity only a real account can prove.
/// </summary>
[Collection(CosmosCollection.Name)]
public sealed class CosmosEntraIdTests(CosmosEmulatorFixture emulator) : IDisposable
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task Without_a_key_every_request_carries_a_token_from_the_credential()
    {
        var ct = _timeout.Token;
        var credential = new FixedTokenCredential();
        var authorizations = new ConcurrentQueue<string>();
        var options = emulator.Options("sb-entra", "c-" + Guid.NewGuid().ToString("N")[..12], client =>
            client.HttpClientFactory = () => new HttpClient(new AuthorizationRecorder(authorizations)));
        options.Key = null;
        options.Credential = credential;

        using var store = new CosmosUploadMetadataStore(options);
        await store.InitializeAsync(ct);
        var record = new UploadRecord { Id = UploadIds.New(), Target = "files", ObjectKey = "entra" };
        Assert.Equal(MetadataWriteStatus.Success, (await store.CreateAsync(record, ct)).Status);
        Assert.Equal("entra", (await store.GetAsync(record.Id, ct))?.ObjectKey);

        Assert.NotEmpty(credential.Scopes);
        Assert.NotEmpty(authorizations);
        // The SDK url-encodes "type=aad&ver=1.0&sig=<token>"; never a master key signature (type=master).
        Assert.All(authorizations, value =>
        {
            var decoded = Uri.UnescapeDataString(value);
            Assert.StartsWith("type=aad&ver=1.0&sig=", decoded, StringComparison.Ordinal);
            Assert.EndsWith("sig=" + FixedTokenCredential.Token, decoded, StringComparison.Ordinal);
        });
    }

    /// <summary>A credential that hands out one fixed token and remembers the scopes asked for.</summary>
    private sealed class FixedTokenCredential : TokenCredential
    {
        public const string Token = "entra-test-token";

        public ConcurrentQueue<string> Scopes { get; } = new();

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            foreach (var scope in requestContext.Scopes)
            {
                Scopes.Enqueue(scope);
            }

            return new AccessToken(Token, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }

    /// <summary>Records the Authorization header of every request the SDK sends.</summary>
    private sealed class AuthorizationRecorder(ConcurrentQueue<string> values) : DelegatingHandler(new HttpClientHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Headers.TryGetValues("authorization", out var authorization))
            {
                foreach (var value in authorization)
                {
                    values.Enqueue(value);
                }
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
