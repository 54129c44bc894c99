using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.AspNetCore;
using StorageBridge.AspNetCore.Limits;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Targets;
using StorageBridge.Tests;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Tus.TusProtocol;

namespace StorageBridge.Protocol.Tests.Quotas;

/// <summary>Limits:CreationsPerMinute and Limits:BytesPerSecond per principal, and ASP.NET Core's own rate limiting on the endpoints.</summary>
public sealed class RateLimitTests : IDisposable
{
    private readonly TempDirectory _root = new("sb-ratelimits");

    public void Dispose() => _root.Dispose();

    private Dictionary<string, string?> Settings(params (string Key, string Value)[] limits)
    {
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Path"] = _root.Combine("meta.db"),
            ["StorageBridge:Targets:default:Root"] = _root.Combine("files"),
        };
        foreach (var (key, value) in limits)
        {
            settings[$"StorageBridge:Targets:default:Limits:{key}"] = value;
        }

        return settings;
    }

    [Fact]
    public async Task Creations_past_the_rate_answer_429_with_retry_after_in_each_protocol_and_per_principal()
    {
        await using var server = await LimitsServer.StartAsync(Settings(("CreationsPerMinute", "3")));
        var client = server.Client;
        var locations = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var created = await client.SendAsync(Creation("default", 3).As("alice"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            locations.Add(IetfProtocol.Location(created));
        }

        using (var refused = await client.SendAsync(Creation("default", 10).As("alice")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("1.0.0", Header(refused, "Tus-Resumable"));
            Assert.Equal("text/plain", refused.Content.Headers.ContentType?.MediaType);
            Assert.InRange(LimitsRequests.RetryAfterSeconds(refused), 1, 60);
            Assert.Contains("CreationsPerMinute", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var refused = await client.SendAsync(IetfProtocol.Creation("default", 8, complete: false, content: null).As("alice")))
        {
            var problem = await IetfProtocol.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests);
            Assert.Equal(429, problem.GetProperty("status").GetInt32());
            Assert.InRange(LimitsRequests.RetryAfterSeconds(refused), 1, 60);
        }

        // Another principal, and an anonymous client (partitioned by its address), have buckets of their own.
        using (var bob = await client.SendAsync(Creation("default", 10).As("bob")))
        {
            Assert.Equal(HttpStatusCode.Created, bob.StatusCode);
        }

        using (var anonymous = await client.SendAsync(Creation("default", 10)))
        {
            Assert.Equal(HttpStatusCode.Created, anonymous.StatusCode);
        }

        // Requests on existing uploads are no creations: appends go on past the creation rate.
        using var patch = await client.SendAsync(Patch(locations[0], 0, [1, 2, 3]).As("alice"));
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
    }

    [Fact]
    public async Task Endpoints_honour_require_rate_limiting_with_use_rate_limiter()
    {
        await using var server = await LimitsServer.StartAsync(
            Settings(),
            builder => builder.Services.AddRateLimiter(options =>
            {
                options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                options.AddFixedWindowLimiter("policy", window =>
                {
                    window.PermitLimit = 2;
                    window.Window = TimeSpan.FromHours(1);
                    window.QueueLimit = 0;
                });
            }),
            app =>
            {
                app.UseRateLimiter();
                app.MapResumableUploads("/uploads").RequireRateLimiting("policy");
            });

        var location = await server.Client.TusCreateAsync("default", 3);
        using (var patch = await server.Client.SendAsync(Patch(location, 0, [1, 2, 3])))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        using var third = await server.Client.SendAsync(Request(HttpMethod.Head, location));
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
    }

    [Fact]
    public async Task Bodies_are_slowed_to_the_byte_rate_and_arrive_byte_exact()
    {
        await using var server = await LimitsServer.StartAsync(Settings(("BytesPerSecond", "64KiB")));
        var data = Data(160 * 1024 + 7, seed: 3);
        var location = await server.Client.TusCreateAsync("default", data.Length);
        using (var patch = await server.Client.SendAsync(Patch(location, 0, data[..100_000]).As("alice")))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        using (var patch = await server.Client.SendAsync(Patch(location, 100_000, data[100_000..]).As("alice")))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        var stored = await File.ReadAllBytesAsync(Directory.GetFiles(_root.Combine("files")).Single());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), Convert.ToHexStringLower(SHA256.HashData(stored)));
    }

    [Fact]
    public async Task A_request_while_the_principals_bytes_are_used_up_answers_429_with_retry_after()
    {
        await using var server = await LimitsServer.StartAsync(Settings(("BytesPerSecond", "16KiB")));
        var data = Data(512 * 1024, seed: 5);
        var first = await server.Client.TusCreateAsync("default", data.Length);
        var second = await server.Client.TusCreateAsync("default", data.Length);

        // The first append takes 32 s at this rate: it waits for tokens while the second arrives.
        using var cancel = new CancellationTokenSource();
        var slow = server.Client.SendAsync(Patch(first, 0, data).As("alice"), cancel.Token);
        var limiter = server.Services.GetRequiredService<TargetRateLimiters>()
            .Bytes(server.Services.GetRequiredService<UploadTargetRegistry>().Find("default")!)!;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        // The partition is the owner id (UploadPrincipals.OwnerOf) of the application-authenticated user.
        while (limiter.Exhausted("owner:app:Test|alice") is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the first append never waited for tokens");
            await Task.Delay(20);
        }

        using (var refused = await server.Client.SendAsync(Patch(second, 0, data[..1024]).As("alice")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("1.0.0", Header(refused, "Tus-Resumable"));
            Assert.InRange(LimitsRequests.RetryAfterSeconds(refused), 1, 3600);
        }

        // Another principal is not affected, nor a request without a body.
        using (var bob = await server.Client.SendAsync(Patch(second, 0, data[..1024]).As("bob")))
        {
            Assert.Equal(HttpStatusCode.NoContent, bob.StatusCode);
        }

        using (var head = await server.Client.SendAsync(Request(HttpMethod.Head, second).As("alice")))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        }

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow);
    }

    [Fact]
    public void Creation_bucket_holds_a_minute_of_creations_refilled_evenly()
    {
        var few = TargetRateLimiters.CreationBucket(3);
        Assert.Equal((3, 1, TimeSpan.FromSeconds(20)), (few.TokenLimit, few.TokensPerPeriod, few.ReplenishmentPeriod));
        var many = TargetRateLimiters.CreationBucket(6000);
        Assert.Equal((6000, 10, TimeSpan.FromMilliseconds(100)), (many.TokenLimit, many.TokensPerPeriod, many.ReplenishmentPeriod));
        Assert.Equal(0, many.QueueLimit);
    }

    private static byte[] Data(int length, ulong seed)
    {
        var data = new byte[length];
        DeterministicData.Fill(seed, 0, data);
        return data;
    }
}
