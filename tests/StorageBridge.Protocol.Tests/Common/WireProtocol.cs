using System.Globalization;
using System.Net;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Protocol.Tests.Tus;

namespace StorageBridge.Protocol.Tests.Common;

/// <summary>The two offset-based protocols the scenarios in this folder run under.</summary>
public enum WireProtocol
{
    /// <summary>The IETF draft at interop version 8.</summary>
    Ietf,

    /// <summary>tus 1.0.0.</summary>
    Tus,
}

/// <summary>
/// Builds the requests of one protocol for scenarios that both protocols share, and knows the status codes and headers
/// each protocol answers with, so a scenario is written once and asserted exactly under both.
/// </summary>
public static class WireRequests
{
    public static TheoryData<WireProtocol> Both => [WireProtocol.Ietf, WireProtocol.Tus];

    /// <summary>A creation with a declared length and optional first bytes, not completing the upload.</summary>
    public static HttpRequestMessage Creation(WireProtocol protocol, string target, long length, byte[]? content = null) => protocol switch
    {
        WireProtocol.Ietf => IetfProtocol.Creation(target, 8, complete: false, content, length),
        _ => TusProtocol.Creation(target, length, content),
    };

    /// <summary>An append at <paramref name="offset"/>; IETF marks the last one complete, tus completes by length.</summary>
    public static HttpRequestMessage Append(WireProtocol protocol, string location, long offset, byte[] content, bool last) => protocol switch
    {
        WireProtocol.Ietf => IetfProtocol.Append(location, 8, offset, last, content),
        _ => TusProtocol.Patch(location, offset, content),
    };

    public static HttpRequestMessage OffsetRetrieval(WireProtocol protocol, string location) => protocol switch
    {
        WireProtocol.Ietf => IetfProtocol.Request(HttpMethod.Head, location, 8),
        _ => TusProtocol.Request(HttpMethod.Head, location),
    };

    public static HttpRequestMessage Cancel(WireProtocol protocol, string location) => protocol switch
    {
        WireProtocol.Ietf => IetfProtocol.Request(HttpMethod.Delete, location, 8),
        _ => TusProtocol.Request(HttpMethod.Delete, location),
    };

    /// <summary>What a successful offset retrieval answers: IETF 204, tus 200.</summary>
    public static HttpStatusCode OffsetOk(WireProtocol protocol) => protocol == WireProtocol.Ietf ? HttpStatusCode.NoContent : HttpStatusCode.OK;

    /// <summary>What a successful append answers: tus always 204; IETF 204, or 200 for the completing one.</summary>
    public static HttpStatusCode AppendOk(WireProtocol protocol, bool last) =>
        protocol == WireProtocol.Ietf && last ? HttpStatusCode.OK : HttpStatusCode.NoContent;

    public static async Task<string> CreateAsync(this HttpClient client, WireProtocol protocol, string target, long length, byte[]? content = null)
    {
        using var response = await client.SendAsync(Creation(protocol, target, length, content));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        AssertProtocolHeaders(protocol, response);
        return IetfProtocol.Location(response);
    }

    public static async Task<long> OffsetAsync(this HttpClient client, WireProtocol protocol, string location)
    {
        using var response = await client.SendAsync(OffsetRetrieval(protocol, location));
        Assert.Equal(OffsetOk(protocol), response.StatusCode);
        AssertProtocolHeaders(protocol, response);
        return long.Parse(IetfProtocol.Header(response, "Upload-Offset")!, CultureInfo.InvariantCulture);
    }

    /// <summary>Every response carries its protocol's marker: Tus-Resumable for tus, the interop version echo for IETF.</summary>
    public static void AssertProtocolHeaders(WireProtocol protocol, HttpResponseMessage response)
    {
        if (protocol == WireProtocol.Tus)
        {
            Assert.Equal("1.0.0", IetfProtocol.Header(response, "Tus-Resumable"));
        }
        else
        {
            Assert.Null(IetfProtocol.Header(response, "Tus-Resumable"));
            Assert.Equal("8", IetfProtocol.Header(response, "Upload-Draft-Interop-Version"));
        }
    }
}
