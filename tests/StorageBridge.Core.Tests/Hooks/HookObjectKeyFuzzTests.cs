using System.Security.Claims;
using System.Text;
using System.Text.Json;
using StorageBridge.Hooks;

namespace StorageBridge.Core.Tests.Hooks;

/// <summary>
/// Keys a hook may choose, fuzzed: every key the check lets through stays below the prefix however a backend reads it
/// (as a file path, or as a '/'-separated object name that some tools normalise), and never names a staging folder.
/// </summary>
public sealed class HookObjectKeyFuzzTests
{
    private const string Prefix = "tenant-a/";
    private static readonly string[] Pieces = ["a", "b", ".", "..", "/", "//", "\\", "%2e%2e", "\u0000", "\n", "\u007f", "\u00e9", "\U0001F600", ".staging", ".storagebridge-staging", " ", "~", ":", "C:", "...", "\ud800"];

    [Fact]
    public void Accepted_keys_never_leave_the_prefix_as_paths_or_object_names()
    {
        var random = new Random(1303);
        var root = Path.Combine(Path.GetTempPath(), "sb-fuzz-root");
        var below = Path.GetFullPath(Path.Combine(root, "tenant-a")) + Path.DirectorySeparatorChar;
        var accepted = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var key = new StringBuilder();
            for (var n = random.Next(1, 12); n > 0; n--)
            {
                key.Append(Pieces[random.Next(Pieces.Length)]);
            }

            var text = key.ToString();
            if (HookObjectKeys.Problem(Prefix, text) is not null)
            {
                continue;
            }

            accepted++;
            Assert.StartsWith(below, Path.GetFullPath(Path.Combine(root, Prefix + text)), StringComparison.Ordinal);
            var segments = (Prefix + text).Split('/');
            Assert.DoesNotContain("..", segments);
            Assert.DoesNotContain(".", segments);
            Assert.DoesNotContain(segments, s => s.StartsWith(".staging", StringComparison.OrdinalIgnoreCase) || s.StartsWith(".storagebridge-staging", StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(text, char.IsControl);
            Assert.True(Encoding.UTF8.GetByteCount(Prefix + text) <= HookObjectKeys.MaxKeyBytes);
        }

        // Guards against a vacuous pass: plenty of keys were accepted and checked.
        Assert.True(accepted > 1_000, $"{accepted} keys accepted");
    }

    [Fact]
    public void Ten_kilobyte_names_are_refused()
    {
        Assert.NotNull(HookObjectKeys.Problem(Prefix, new string('n', 10 * 1024)));
        Assert.NotNull(HookObjectKeys.Problem("", new string('n', 1025)));
        Assert.Null(HookObjectKeys.Problem("", new string('n', 1024)));
    }

    [Fact]
    public void The_webhook_request_carries_the_principal_and_its_claims()
    {
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "alice"), new Claim("tenant", "a\"b")], "jwt"));
        var body = PreCreateWebhook.Serialize(new UploadCreationContext
        {
            Target = "photos",
            Protocol = "ietf",
            Owner = "alice",
            Principal = principal,
            Metadata = new Dictionary<string, string> { ["k"] = "v\u00e9" },
            ConcatenationSources = ["u1", "u2"],
            ObjectKey = "chosen/key",
        });

        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal("alice", root.GetProperty("principal").GetString());
        Assert.Equal(["sub=alice", "tenant=a\"b"], root.GetProperty("claims").EnumerateArray().Select(c => c.GetProperty("type").GetString() + "=" + c.GetProperty("value").GetString()).ToArray());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("length").ValueKind);
        Assert.Equal("v\u00e9", root.GetProperty("metadata").GetProperty("k").GetString());
        Assert.Equal("chosen/key", root.GetProperty("objectKey").GetString());
        Assert.Equal(2, root.GetProperty("concatenationSources").GetArrayLength());

        // An unauthenticated principal's claims are not sent.
        var anonymous = PreCreateWebhook.Serialize(new UploadCreationContext { Target = "photos", Protocol = "tus", Principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "x")])) });
        using var anonymousJson = JsonDocument.Parse(anonymous);
        Assert.Equal(0, anonymousJson.RootElement.GetProperty("claims").GetArrayLength());
    }
}
