using System.Collections;

namespace StorageBridge.AspNetCore;

/// <summary>
/// The log scope of a request on a target or an upload: <c>Target</c> and, once the URL names one, <c>UploadId</c>.
/// Formatters that write scopes (the JSON console formatter with <c>IncludeScopes</c>) write both as properties, so
/// every line of the engine, the backends and the stores during the request can be found by upload id.
/// </summary>
internal sealed class UploadLogScope(string target, string? uploadId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => uploadId is null ? 1 : 2;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("Target", target),
        1 when uploadId is not null => new("UploadId", uploadId),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => uploadId is null ? $"Target:{target}" : $"Target:{target} UploadId:{uploadId}";
}
