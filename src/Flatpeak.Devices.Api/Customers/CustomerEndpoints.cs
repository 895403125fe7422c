using System.Text.Json;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Idempotency;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Customers;

public static class CustomerEndpoints
{
    public static IServiceCollection AddCustomers(this IServiceCollection services) =>
        services
            .AddSingleton<IValidator<CreateCustomerRequest>, CreateCustomerRequestValidator>()
            .AddSingleton<IValidator<CustomerListQuery>, CustomerListQueryValidator>();

    public static IEndpointRouteBuilder MapCustomers(this IEndpointRouteBuilder routes)
    {
        var customers = routes.MapObjectRoutes<CreateCustomerRequest, CustomerListQuery>("customer", "/customers", "Customers", Create, List, Get, Update, Delete);
        customers.Update.WithDescription("A JSON merge patch: changes only the fields sent; null clears a field.");
        customers.Delete.WithDescription("Refused with 409 customer_in_use while any location names the customer.");
        return routes;
    }

    /// <summary>How the shared write path (<see cref="ObjectWrites"/>) writes a customer.</summary>
    public static readonly ObjectKind<Customer, CreateCustomerRequest, CustomerResponse> Kind = new(
        "customer",
        "/customers",
        ApiJsonContext.Default.CreateCustomerRequest,
        ApiJsonContext.Default.CustomerResponse,
        (request, customer) => request.ApplyTo(customer),
        CustomerResponse.From,
        CustomerStatements.LocationsOf,
        MissingReference: null,
        InUse: (db, caller, id, ct) => db.Locations.AnyAsync(l => l.AccountId == caller.AccountId && l.LiveMode == caller.LiveMode && l.CustomerId == id, ct),
        OwnedRows: null);

    public static Task<Results<Created<CustomerResponse>, BadRequest<ApiError>>> Create(
        CreateCustomerRequest request, Caller caller, DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().TruncateToSeconds();
        var customer = new Customer
        {
            Id = ObjectIds.New(ObjectIds.Customer, now),
            AccountId = caller.AccountId,
            LiveMode = caller.LiveMode,
            TimeCreated = now,
        };
        request.ApplyTo(customer);
        return ObjectWrites.CreateAsync(Kind, customer, now, caller, db, http, cancellationToken);
    }

    public static async Task<Results<Ok<CustomerResponse>, NotFound<ApiError>>> Get(
        string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        var customer = await db.Customers
            .Where(c => c.Id == id && c.AccountId == caller.AccountId && c.LiveMode == caller.LiveMode)
            .SingleOrDefaultAsync(cancellationToken);
        return customer is null ? ApiErrors.NotFound(http, "customer", id) : TypedResults.Ok(await Kind.RespondAsync(db, caller, customer, cancellationToken));
    }

    public static async Task<Ok<ListResponse<CustomerResponse>>> List(
        [AsParameters] CustomerListQuery query, Caller caller, DevicesDbContext db, CancellationToken cancellationToken)
    {
        var customers = db.Customers.Where(c => c.AccountId == caller.AccountId && c.LiveMode == caller.LiveMode);
        if (query.ReferenceId is not null)
        {
            customers = customers.Where(c => c.ReferenceId == query.ReferenceId);
        }

        var page = await customers.PageAsync(query, cancellationToken);
        var locations = await Kind.EmbeddedIdsAsync(db, caller, [.. page.Items.Select(c => c.Id)], cancellationToken);
        return TypedResults.Ok(page.ToListResponse("/customers", c => CustomerResponse.From(c, [.. locations[c.Id]])));
    }

    /// <summary>Answers <c>202</c> with the customer, as Flatpeak declares (the change is complete).</summary>
    public static async Task<Results<Accepted<CustomerResponse>, BadRequest<ApiError>, NotFound<ApiError>>> Update(
        string id, JsonElement body, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken) =>
        (await ObjectWrites.UpdateAsync(Kind, id, body, caller, db, http, cancellationToken)).Result switch
        {
            Ok<CustomerResponse> updated => TypedResults.Accepted((string?)null, updated.Value),
            BadRequest<ApiError> invalid => invalid,
            NotFound<ApiError> notFound => notFound,
            var other => throw new InvalidOperationException($"A customer update answered {other?.GetType().Name}."),
        };

    public static Task<Results<Accepted<DeletedResponse>, NotFound<ApiError>, Conflict<ApiError>>> Delete(
        string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken) =>
        ObjectWrites.DeleteAsync(Kind, id, caller, db, http, cancellationToken);
}
