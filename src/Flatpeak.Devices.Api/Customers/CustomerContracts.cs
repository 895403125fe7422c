using Flatpeak.Devices.Api.Common;
using Microsoft.AspNetCore.Mvc;

namespace Flatpeak.Devices.Api.Customers;

/// <summary>The writable fields of a customer: the body of a create, and what a patch is merged into and validated as.</summary>
public sealed record CreateCustomerRequest(string? ReferenceId)
{
    public void ApplyTo(Customer customer) => customer.ReferenceId = ReferenceId;
}

public sealed record CustomerResponse(
    string Id,
    string Object,
    bool LiveMode,
    string AccountId,
    string? ReferenceId,
    IReadOnlyList<string> Locations,
    DateTimeOffset TimeCreated)
{
    public static CustomerResponse From(Customer customer, IReadOnlyList<string> locations) =>
        new(customer.Id, "customer", customer.LiveMode, customer.AccountId, customer.ReferenceId, locations, customer.TimeCreated);
}

public sealed record CustomerListQuery(
    [FromQuery(Name = "limit")] string? Limit,
    [FromQuery(Name = "starting_after")] string? StartingAfter,
    [FromQuery(Name = "ending_before")] string? EndingBefore,
    [FromQuery(Name = "reference_id")] string? ReferenceId) : IPageQuery;
