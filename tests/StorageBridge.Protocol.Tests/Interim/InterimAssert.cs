using System.Globalization;
using System.Text;

namespace StorageBridge.Protocol.Tests.Interim;

internal static class InterimAssert
{
    public const string ContinueBlock = "HTTP/1.1 100 Continue\r\n\r\n";

    /// <summary>
    /// Checks one exchange with <see cref="InterimTestEndpoint"/>: the initial 104 comes first and is exact, every
    /// other 1xx is either Kestrel's exact 100 Continue (at most once) or an exact progress 104 with strictly
    /// increasing offsets ending at the body length, the number of 104s equals what the server says it sent, and
    /// the final 201 repeats the Location and echoes length and SHA-256 of the body.
    /// </summary>
    /// <returns>The progress offsets in wire order.</returns>
    public static IReadOnlyList<long> CreationExchange(RawHttpExchange exchange, string location, ReadOnlySpan<byte> body, bool allowContinue)
    {
        var interim = exchange.Interim;
        Assert.NotEmpty(interim);
        Assert.Equal(InterimTestEndpoint.InitialBlock(location), interim[0].RawHead);

        var offsets = new List<long>();
        var continues = 0;
        foreach (var message in interim.Skip(1))
        {
            if (message.StatusCode == 100)
            {
                Assert.True(allowContinue, $"Unexpected 100 Continue:\n{message.RawHead}");
                Assert.Equal(ContinueBlock, message.RawHead);
                continues++;
                continue;
            }

            var offset = long.Parse(message.Header("Upload-Offset") ?? throw new FormatException($"No Upload-Offset in:\n{message.RawHead}"), CultureInfo.InvariantCulture);
            Assert.Equal(InterimTestEndpoint.ProgressBlock(offset), message.RawHead);
            Assert.True(offsets.Count == 0 || offset > offsets[^1], $"Offsets not increasing: {string.Join(",", offsets)} then {offset}");
            offsets.Add(offset);
        }

        Assert.True(continues <= 1, $"{continues} x 100 Continue");
        if (body.Length > 0)
        {
            Assert.Equal(body.Length, offsets[^1]);
        }
        else
        {
            Assert.Empty(offsets);
        }

        var final = exchange.Final;
        Assert.Equal(201, final.StatusCode);
        Assert.Equal("Created", final.ReasonPhrase);
        Assert.Equal(location, final.Header("Location"));
        Assert.Equal(body.Length.ToString(CultureInfo.InvariantCulture), final.Header("Upload-Offset"));
        Assert.Equal((interim.Count - continues).ToString(CultureInfo.InvariantCulture), final.Header("X-Interim-Sent"));
        Assert.Equal(InterimTestEndpoint.ExpectedBody(body), final.BodyText);
        return offsets;
    }

    /// <summary>Counts occurrences of an ASCII marker in raw wire bytes.</summary>
    public static int Count(byte[] wire, string marker)
    {
        var pattern = Encoding.ASCII.GetBytes(marker);
        var count = 0;
        var span = wire.AsSpan();
        int index;
        while ((index = span.IndexOf(pattern)) >= 0)
        {
            count++;
            span = span[(index + pattern.Length)..];
        }

        return count;
    }
}
