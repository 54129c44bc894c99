using System.Text.Json.Serialization;
using StorageBridge.Uploads;

namespace StorageBridge.Coordination;

/// <summary>
/// Bytes kept durably outside an upload's offset (<see cref="UploadAssembler.TryReserveStagingAsync"/>): tail slots
/// <see cref="FirstSequence"/>.. of the target's tail store, each holding <see cref="PieceSize"/> bytes (the last one
/// the rest). A serialisable handle: keep it, e.g. in the upload's protocol state, to append or delete the bytes later.
/// </summary>
/// <param name="FirstSequence">Tail slot of the first piece; the pieces follow in consecutive slots.</param>
/// <param name="PieceSize">Bytes per piece (at most the target's part size: one piece is what replay holds in memory).</param>
/// <param name="Length">Bytes staged in all.</param>
public sealed record StagedRange(int FirstSequence, long PieceSize, long Length)
{
    /// <summary>How many tail slots the bytes occupy.</summary>
    [JsonIgnore]
    public int PieceCount => (int)((Length + PieceSize - 1) / PieceSize);
}

/// <summary>A staging reservation recorded in the upload: <see cref="Upload"/> is the record as written, <see cref="Range"/> the slots reserved.</summary>
/// <param name="Upload">The upload with the slots and the caller's protocol state recorded (its new version).</param>
/// <param name="Range">Where <see cref="UploadAssembler.WriteStagedAsync"/> is to put the bytes.</param>
public sealed record StagingReservation(UploadRecord Upload, StagedRange Range);

/// <summary>The answer to <see cref="UploadAssembler.WritePartsAsync"/>.</summary>
/// <param name="Outcome">
/// When <paramref name="Recorded"/>: <see cref="UploadOutcome.Success"/> (also when these parts completed the upload),
/// <see cref="UploadOutcome.ObjectExists"/> when the commit found another object under the key (the upload stays open),
/// <see cref="UploadOutcome.Conflict"/> when another writer moved the upload on during the commit. Otherwise Success.
/// </param>
/// <param name="Upload">The upload as it stands afterwards.</param>
/// <param name="Recorded">
/// False when nothing was recorded because parts with these numbers already were (another write of the same bytes got
/// there first) or the upload is no longer open; <paramref name="Upload"/> is then the current record.
/// </param>
public sealed record PartsWriteResult(UploadOutcome Outcome, UploadRecord? Upload, bool Recorded);
