namespace Flatpeak.Devices.Api.Idempotency;

/// <summary>A client's Idempotency-Key and, once its request has run, the response to replay.</summary>
public sealed class IdempotencyKey
{
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public required string Key { get; init; }
    /// <summary>SHA-256 of the method, path and request parameters: the same key with other parameters is refused.</summary>
    public required byte[] RequestHash { get; set; }
    public required DateTimeOffset TimeCreated { get; set; }
    /// <summary>When a request last took the key; a key whose request vanished (a crashed instance) can be taken again after a while.</summary>
    public required DateTimeOffset LockedAt { get; set; }
    /// <summary>Which request holds the key: a request knows its own claim by it (an insert retried after a lost acknowledgement).</summary>
    public Guid? ClaimToken { get; set; }
    public int? ResponseStatus { get; set; }
    public string? ResponseBody { get; set; }
    public string? ResponseLocation { get; set; }
}
