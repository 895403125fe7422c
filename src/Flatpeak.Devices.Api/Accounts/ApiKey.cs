namespace Flatpeak.Devices.Api.Accounts;

/// <summary>A secret API key, kept only as its SHA-256 hash.</summary>
public sealed class ApiKey
{
    public long Id { get; init; }
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public required byte[] KeyHash { get; init; }
    /// <summary>The first characters of the key, enough for an operator to tell keys apart.</summary>
    public required string KeyPrefix { get; init; }
    public required DateTimeOffset TimeCreated { get; init; }
    public DateTimeOffset? TimeRevoked { get; set; }
}
