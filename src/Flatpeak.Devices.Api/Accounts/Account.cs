namespace Flatpeak.Devices.Api.Accounts;

public sealed class Account
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required DateTimeOffset TimeCreated { get; init; }
    public List<ApiKey> Keys { get; init; } = [];
}
