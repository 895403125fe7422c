using Flatpeak.Devices.Api.Idempotency;

namespace Flatpeak.Devices.Api.Common;

/// <summary>The five routes of an object resource, each with its operation id, rules and error statuses, for callers to describe further.</summary>
public sealed record ObjectRoutes(
    RouteHandlerBuilder Create, RouteHandlerBuilder List, RouteHandlerBuilder Get, RouteHandlerBuilder Update, RouteHandlerBuilder Delete);

public static class ObjectRouteMapping
{
    /// <summary>
    /// Maps create, list, retrieve, update (a JSON merge patch validated by the create rules) and delete of one kind
    /// of object under <paramref name="path"/>, authenticated, with operation ids <c>&lt;name&gt;_create</c> and so on.
    /// </summary>
    public static ObjectRoutes MapObjectRoutes<TRequest, TListQuery>(
        this IEndpointRouteBuilder routes, string name, string path, string tag,
        Delegate create, Delegate list, Delegate get, Delegate update, Delegate delete)
    {
        var group = routes.MapGroup(path).WithTags(tag).RequireAuthorization().ProducesErrorsOfAuthenticatedEndpoints().WithStrictQuery();
        var plural = path.TrimStart('/');
        return new ObjectRoutes(
            group.MapPost("/", create).WithName($"{name}_create").WithSummary($"Create a {name}")
                .WithValidation<TRequest>().ProducesBodyErrors().WithIdempotency<TRequest>(),
            group.MapGet("/", list).WithName($"{name}_list").WithSummary($"List {plural}, newest first")
                .WithValidation<TListQuery>(),
            group.MapGet("/{id}", get).WithName($"{name}_get").WithSummary($"Retrieve a {name}")
                .ProducesApiError(StatusCodes.Status404NotFound),
            group.MapPatch("/{id}", update).WithName($"{name}_update").WithSummary($"Update a {name}")
                .WithPatchValidation<TRequest>().ProducesBodyErrors().ProducesApiError(StatusCodes.Status404NotFound),
            group.MapDelete("/{id}", delete).WithName($"{name}_delete").WithSummary($"Delete a {name}")
                .ProducesApiError(StatusCodes.Status404NotFound));
    }
}
