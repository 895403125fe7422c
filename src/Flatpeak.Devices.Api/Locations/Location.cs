using Flatpeak.Devices.Api.Common;

namespace Flatpeak.Devices.Api.Locations;

public sealed class Location : IHasObjectId
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public string? ReferenceId { get; set; }
    public string? CustomerId { get; set; }
    public string? AddressLine1 { get; set; }
    public string? AddressLine2 { get; set; }
    public string? City { get; set; }
    public string? State { get; set; }
    public string? PostCode { get; set; }
    public string? CountryCode { get; set; }
    public required DateTimeOffset TimeCreated { get; init; }
}
