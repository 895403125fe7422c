using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Events;

public static class EventEndpoints
{
    public static IServiceCollection AddEvents(this IServiceCollection services) =>
        services.AddSingleton<IValidator<EventListQuery>, EventListQueryValidator>()
            .AddSingleton<FeedHorizon>()
            .AddSingleton<FeedSignal>()
            .AddHostedService(provider => provider.GetRequiredService<FeedSignal>())
            .AddHostedService(provider => provider.GetRequiredService<FeedHorizon>());

    public static IEndpointRouteBuilder MapEvents(this IEndpointRouteBuilder routes)
    {
        var events = routes.MapGroup("/events").WithTags("Events").RequireAuthorization()
            .ProducesErrorsOfAuthenticatedEndpoints().WithStrictQuery();

        events.MapGet("/", List)
            .WithName("event_list")
            .WithSummary("List events, newest first")
            .WithValidation<EventListQuery>();

        events.MapGet("/{id}", Get)
            .WithName("event_get")
            .WithSummary("Retrieve an event")
            .ProducesApiError(StatusCodes.Status404NotFound);

        return routes;
    }

    public static async Task<Results<Ok<ListResponse<EventResponse>>, BadRequest<ApiError>>> List(
        [AsParameters] EventListQuery query, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        var page = await EventFeed.PageAsync(db, caller, query, cancellationToken);
        if (page is null)
        {
            var param = query.StartingAfter is not null ? "starting_after" : "ending_before";
            return ApiErrors.BadRequest(http, param + "_invalid", $"No such event: '{query.StartingAfter ?? query.EndingBefore}'.", param);
        }

        return TypedResults.Ok(page.ToListResponse("/events", EventResponse.From));
    }

    public static async Task<Results<Ok<EventResponse>, NotFound<ApiError>>> Get(
        string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        var found = await db.Events
            .Where(e => e.Id == id && e.AccountId == caller.AccountId && e.LiveMode == caller.LiveMode)
            .SingleOrDefaultAsync(cancellationToken);
        return found is null ? ApiErrors.NotFound(http, "event", id) : TypedResults.Ok(EventResponse.From(found));
    }
}
