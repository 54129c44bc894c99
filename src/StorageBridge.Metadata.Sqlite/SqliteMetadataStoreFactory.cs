using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace StorageBridge.Metadata.Sqlite;

/// <summary><c>Provider: Sqlite</c> (keys: see <see cref="SqliteMetadataOptions"/>).</summary>
internal sealed class SqliteMetadataStoreFactory : IUploadMetadataStoreFactory
{
    public const string ProviderName = "Sqlite";

    public string Name => ProviderName;

    public IUploadMetadataStore Create(IServiceProvider services) =>
        new SqliteUploadMetadataStore(services.GetRequiredService<IOptions<SqliteMetadataOptions>>().Value);
}
