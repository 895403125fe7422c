using Flatpeak.Devices.Api.Common;

namespace Flatpeak.Devices.Api.Customers;

public sealed class Customer : IHasObjectId
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public string? ReferenceId { get; set; }
    public required DateTimeOffset TimeCreated { get; init; }
}
