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

/// <summary>The writable fields of a location: the body of a create, and what a patch is merged into and validated as.</summary>
public sealed record CreateLocationRequest(
    string? ReferenceId,
    string? CustomerId,
    PostalAddress? PostalAddress)
{
    public void ApplyTo(Location location)
    {
        location.ReferenceId = ReferenceId;
        location.CustomerId = CustomerId;
        location.AddressLine1 = PostalAddress?.AddressLine1;
        location.AddressLine2 = PostalAddress?.AddressLine2;
        location.City = PostalAddress?.City;
        location.State = PostalAddress?.State;
        location.PostCode = PostalAddress?.PostCode;
        location.CountryCode = PostalAddress?.CountryCode;
    }
}

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
    public static LocationResponse From(Location location, IReadOnlyList<string> devices) => new(
        location.Id,
        "location",
        location.LiveMode,
        location.ReferenceId,
        location.CustomerId,
        location is { AddressLine1: null, AddressLine2: null, City: null, State: null, PostCode: null, CountryCode: null }
            ? null
            : new PostalAddress(location.AddressLine1, location.AddressLine2, location.City, location.State, location.PostCode, location.CountryCode),
        devices,
        location.AccountId,
        location.TimeCreated);
}

public sealed record LocationListQuery(
    [FromQuery(Name = "limit")] string? Limit,
    [FromQuery(Name = "starting_after")] string? StartingAfter,
    [FromQuery(Name = "ending_before")] string? EndingBefore,
    [FromQuery(Name = "reference_id")] string? ReferenceId,
    [FromQuery(Name = "customer_id")] string? CustomerId) : IPageQuery;
