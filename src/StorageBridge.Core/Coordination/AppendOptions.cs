namespace StorageBridge.Coordination;

/// <summary>How the engine's own callers append (the numbered-chunk path); public appends use the default.</summary>
/// <param name="FromChunks">
/// Only the numbered-chunk path may append to an upload made of chunks, and its appends are chunks whose size the
/// client chose (exempt from min-append-size).
/// </param>
/// <param name="YieldToOtherInstance">Answer <see cref="UploadOutcome.Conflict"/> instead of taking over while another instance's lease is live.</param>
internal readonly record struct AppendOptions(bool FromChunks = false, bool YieldToOtherInstance = false);
