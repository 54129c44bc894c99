namespace StorageBridge.GcsEmulator;

/// <summary>An expected failure, answered with Google's JSON error body.</summary>
public sealed class GcsException(int status, string reason, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Reason { get; } = reason;

    public static GcsException NotFound(string message) => new(404, "notFound", message);

    public static GcsException BadRequest(string message) => new(400, "invalid", message);

    public static GcsException PreconditionFailed() =>
        new(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.");
}
