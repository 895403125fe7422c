namespace Flatpeak.Devices.Api.Idempotency;

/// <summary>
/// The Idempotency-Key a request holds, as a request feature: the change statement stores the response to replay
/// with the change itself and says so here; otherwise the filter stores the endpoint's answer after it.
/// </summary>
public sealed class IdempotencyClaim(string key)
{
    public string Key { get; } = key;

    public bool ResponseStored { get; set; }
}
