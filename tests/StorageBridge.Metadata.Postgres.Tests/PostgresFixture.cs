using StorageBridge.Tests;

namespace StorageBridge.Metadata.Postgres.Tests;

/// <summary>One PostgreSQL server for the collection, with a database <c>sb</c>; tests isolate themselves by schema.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public const string Database = "sb";

    public PostgresServer Server { get; private set; } = null!;

    public string ConnectionString => Server.ConnectionString(Database);

    public async Task InitializeAsync()
    {
        Server = await PostgresServer.StartNewAsync();
        await Server.CreateDatabaseAsync(Database);
    }

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }

    /// <summary>A schema name no other test uses.</summary>
    public static string NewSchema() => "t" + Guid.NewGuid().ToString("N");
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "PostgreSQL";
}
