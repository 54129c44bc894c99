using System.Net;
using System.Net.Http.Headers;

namespace StorageBridge.Protocol.Tests.Security;

/// <summary>
/// Authorization again at completion (time of check vs time of use): a principal whose token expired, or whose API key
/// a configuration reload removed, while its append streamed keeps its bytes but cannot complete (401); the owner
/// completes later with valid credentials. And only the owner's requests may take over a running append.
/// </summary>
public sealed class TimeOfUseTests : IAsyncLifetime
{
    private SecureServer _server = null!;
    private SecureRequests _http = null!;

    public async Task InitializeAsync()
    {
        _server = await SecureServer.StartAsync();
        _http = new SecureRequests(_server);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_token_expiring_mid_append_keeps_the_bytes_but_does_not_complete()
    {
        var bytes = SecureRequests.Bytes(64 * 1024, 11);
        var upload = SecureRequests.Location(await _http.IetfCreateAsync("shared", [], complete: false, Credential.Owner));
        var token = _server.Tokens.Jwt(Credentials.OwnerSubject, "acme", lifetime: TimeSpan.FromMinutes(5));

        using var response = await PatchInTwoHalvesAsync(upload, bytes, new AuthenticationHeaderValue("Bearer", token), () =>
            _server.Time.Advance(TimeSpan.FromMinutes(10)));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.Equal(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("Upload-Offset").Single());

        await AssertOpenAtAsync(upload, bytes.Length, Credential.Owner);
        using var complete = await _http.IetfAppendAsync(upload, bytes.Length, [], complete: true, Credential.Owner);
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        using var download = await _http.DownloadAsync(upload, Credential.Owner);
        Assert.Equal(SecureRequests.Sha256(bytes), SecureRequests.Sha256(await download.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task A_tus_patch_whose_token_expired_answers_401_with_the_kept_offset()
    {
        var bytes = SecureRequests.Bytes(32 * 1024, 14);
        var upload = SecureRequests.Location(await _http.TusCreateAsync("shared", bytes.Length, Credential.Owner));
        var token = _server.Tokens.Jwt(Credentials.OwnerSubject, "acme", lifetime: TimeSpan.FromMinutes(5));

        using var response = await PatchInTwoHalvesAsync(upload, bytes, new AuthenticationHeaderValue("Bearer", token), () =>
            _server.Time.Advance(TimeSpan.FromMinutes(10)), tus: true);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(SecureRequests.Tus, response.Headers.GetValues("Tus-Resumable").Single());
        Assert.Equal(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("Upload-Offset").Single());

        // Every byte is in but the upload is not complete: no object yet.
        using var download = await _http.DownloadAsync(upload, Credential.Owner);
        Assert.Equal(HttpStatusCode.Conflict, download.StatusCode);
    }

    [Fact]
    public async Task An_api_key_removed_by_a_configuration_reload_cannot_complete()
    {
        var bytes = SecureRequests.Bytes(48 * 1024, 12);
        var upload = SecureRequests.Location(await _http.IetfCreateAsync("shared", [], complete: false, Credential.ApiKey));

        using var response = await PatchInTwoHalvesAsync(upload, bytes, new AuthenticationHeaderValue("ApiKey", SecureServer.AcmeKey), () =>
            _server.Reconfigure("StorageBridge:Targets:shared:Auth:ApiKeys:acme-ci:Sha256", TestTokens.Sha256Hex("a rotated key")));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "ApiKey");

        // The old key is refused from now on; the rotated one is the same principal (key:acme-ci) and finds its bytes.
        using (var again = await _http.IetfHeadAsync(upload, Credential.ApiKey))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);
        }

        using var head = new HttpRequestMessage(HttpMethod.Head, upload);
        head.Headers.Add("Upload-Draft-Interop-Version", "8");
        head.Headers.Add("X-Api-Key", "a rotated key");
        using var rotated = await _server.Client.SendAsync(head);
        Assert.Equal(HttpStatusCode.NoContent, rotated.StatusCode);
        Assert.Equal(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), rotated.Headers.GetValues("Upload-Offset").Single());
        Assert.Equal("?0", rotated.Headers.GetValues("Upload-Complete").Single());
    }

    [Fact]
    public async Task Only_the_owner_takes_over_a_running_append()
    {
        var bytes = SecureRequests.Bytes(40 * 1024, 13);
        var upload = SecureRequests.Location(await _http.IetfCreateAsync("shared", [], complete: false, Credential.Owner));
        var token = _server.Tokens.Jwt(Credentials.OwnerSubject, "acme");
        using var response = await PatchInTwoHalvesAsync(upload, bytes, new AuthenticationHeaderValue("Bearer", token), () =>
        {
            // While alice's append runs: another tenant, and alice's own API-key principal, are strangers to it.
            foreach (var stranger in new[] { Credential.OtherTenant, Credential.ApiKey })
            {
                using var head = _http.IetfHeadAsync(upload, stranger).GetAwaiter().GetResult();
                Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
                using var patch = _http.IetfAppendAsync(upload, 0, [1, 2, 3], complete: false, stranger).GetAwaiter().GetResult();
                Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
                using var delete = _http.DeleteAsync(upload, stranger).GetAwaiter().GetResult();
                Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
            }
        });

        // Not superseded: the append ran to its end and completed.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var download = await _http.DownloadAsync(upload, Credential.Owner);
        Assert.Equal(SecureRequests.Sha256(bytes), SecureRequests.Sha256(await download.Content.ReadAsByteArrayAsync()));
    }

    /// <summary>
    /// PATCHes all of <paramref name="bytes"/> with Upload-Complete: ?1, sending the first half, then (once the server
    /// admitted the request) running <paramref name="meanwhile"/> before the second half.
    /// </summary>
    private async Task<HttpResponseMessage> PatchInTwoHalvesAsync(string upload, byte[] bytes, AuthenticationHeaderValue authorization, Action meanwhile, bool tus = false)
    {
        var name = Guid.NewGuid().ToString("N");
        var admitted = _server.Admitted.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var content = new GatedContent(bytes, bytes.Length / 2);
        var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = content };
        request.Headers.Add("Upload-Offset", "0");
        if (tus)
        {
            request.Headers.Add("Tus-Resumable", SecureRequests.Tus);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        }
        else
        {
            request.Headers.Add("Upload-Draft-Interop-Version", "8");
            request.Headers.Add("Upload-Complete", "?1");
            content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        }

        request.Headers.Add("X-Test-Request", name);
        request.Headers.Authorization = authorization;
        var sending = _server.Client.SendAsync(request);
        await content.FirstHalfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await admitted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Run(meanwhile);
        content.Release.TrySetResult();
        return await sending.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task AssertOpenAtAsync(string upload, long offset, Credential credential)
    {
        using var head = await _http.IetfHeadAsync(upload, credential);
        Assert.Equal(HttpStatusCode.NoContent, head.StatusCode);
        Assert.Equal(offset.ToString(System.Globalization.CultureInfo.InvariantCulture), head.Headers.GetValues("Upload-Offset").Single());
        Assert.Equal("?0", head.Headers.GetValues("Upload-Complete").Single());
    }

    /// <summary>A body that sends its first <c>split</c> bytes, then waits for <see cref="Release"/> before the rest.</summary>
    private sealed class GatedContent(byte[] bytes, int split) : HttpContent
    {
        public TaskCompletionSource FirstHalfSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(bytes.AsMemory(0, split), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            FirstHalfSent.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
            await stream.WriteAsync(bytes.AsMemory(split), cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }
}
