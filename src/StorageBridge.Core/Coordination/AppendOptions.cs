namespace StorageBridge.Coordination;

/// <summary>How <see cref="UploadAssembler"/> appends; public appends use the default.</summary>
/// <param name="FromAssembler">
/// Only the assembler may append to an upload it created (<see cref="Uploads.UploadRecord.Assembled"/>), and its
/// appends are pieces whose size the client chose (exempt from min-append-size).
/// </param>
/// <param name="YieldToOtherInstance">Answer <see cref="UploadOutcome.Conflict"/> instead of taking over while another instance's lease is live.</param>
internal readonly record struct AppendOptions(bool FromAssembler = false, bool YieldToOtherInstance = false);
