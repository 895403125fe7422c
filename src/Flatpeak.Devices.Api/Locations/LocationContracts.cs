using Flatpeak.Devices.Api.Common;
using Microsoft.AspNetCore.Mvc;

namespace Flatpeak.Devices.Api.Locations;

public sealed record PostalAddress(
    string? AddressLine1,
    string? AddressLine2,
    string? City,
    string? State,
    string? PostCode,
    string? CountryCode);

public sealed record CreateLocationRequest(
    string? ReferenceId,
    string? CustomerId,
    PostalAddress? PostalAddress);

public sealed record LocationResponse(
    string Id,
    string Object,
    bool LiveMode,
    string? ReferenceId,
    string? CustomerId,
    PostalAddress? PostalAddress,
    IReadOnlyList<string> Devices,
    string AccountId,
    DateTimeOffset TimeCreated)
{
    public static LocationResponse From(Location location, IEnumerable<string> devices) => new(
        location.Id,
        "location",
        location.LiveMode,
        location.ReferenceId,
        location.CustomerId,
        location is { AddressLine1: null, AddressLine2: null, City: null, State: null, PostCode: null, CountryCode: null }
            ? null
            : new PostalAddress(location.AddressLine1, location.AddressLine2, location.City, location.State, location.PostCode, location.CountryCode),
        [.. devices],
        location.AccountId,
        location.TimeCreated);
}

public sealed record LocationListQuery(
    [FromQuery(Name = "limit")] string? Limit,
    [FromQuery(Name = "starting_after")] string? StartingAfter,
    [FromQuery(Name = "ending_before")] string? EndingBefore) : IPageQuery;
