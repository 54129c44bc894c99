using StorageBridge.Tests;

namespace StorageBridge.Backends.S3.Tests.Deploy;

/// <summary>
/// The compose file's `postgres` service, here: a real PostgreSQL on loopback with the role and database the official
/// image creates from POSTGRES_USER and POSTGRES_DB (password checks are off: trust authentication).
/// </summary>
public sealed class ComposePostgres : IAsyncLifetime
{
    private PostgresServer? _server;

    public int Port => _server?.Port ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartNewAsync();
        await _server.PsqlAsync("postgres", "CREATE ROLE storagebridge LOGIN PASSWORD 'storagebridge-local'");
        await _server.PsqlAsync("postgres", "CREATE DATABASE storagebridge OWNER storagebridge");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
