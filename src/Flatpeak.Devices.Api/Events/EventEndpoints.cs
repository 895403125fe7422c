using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Data.Partitions;
using Flatpeak.Devices.Api.Webhooks;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Api.Events;

public static class EventEndpoints
{
    public static IServiceCollection AddEvents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EventOptions>().Bind(configuration.GetSection(EventOptions.Section))
            .ValidateDataAnnotations()
            .Validate<IOptions<WebhookOptions>>(
                (events, webhooks) => TimeSpan.FromDays(events.RetentionDays) >= webhooks.Value.Schedule[^1] + TimeSpan.FromDays(1),
                $"{EventOptions.Section}:RetentionDays must outlast the last webhook retry ({WebhookOptions.Section}:RetrySchedule) by a day at least, or deliveries would lose their events.")
            .ValidateOnStart();
        return services.AddSingleton<IValidator<EventListQuery>, EventListQueryValidator>()
            .AddSingleton<FeedHorizon>()
            .AddSingleton<FeedSignal>()
            .AddHostedService(provider => provider.GetRequiredService<FeedSignal>())
            .AddHostedService(provider => provider.GetRequiredService<FeedHorizon>());
    }

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
        [AsParameters] EventListQuery query, Caller caller, DevicesDbContext db, PartitionMaintenance partitions, HttpContext http,
        CancellationToken cancellationToken)
    {
        var page = await EventFeed.PageAsync(db, caller, query, partitions.EventsHorizon, cancellationToken);
        if (page is null)
        {
            var param = query.StartingAfter is not null ? "starting_after" : "ending_before";
            return ApiErrors.BadRequest(http, param + "_invalid", $"No such event: '{query.StartingAfter ?? query.EndingBefore}'.", param);
        }

        return TypedResults.Ok(page.ToListResponse("/events", EventResponse.From));
    }

    public static async Task<Results<Ok<EventResponse>, NotFound<ApiError>>> Get(
        string id, Caller caller, DevicesDbContext db, PartitionMaintenance partitions, HttpContext http, CancellationToken cancellationToken)
    {
        var found = await db.Events.ServedTo(caller, partitions.EventsHorizon)
            .Where(e => e.Id == id)
            .SingleOrDefaultAsync(cancellationToken);
        return found is null ? ApiErrors.NotFound(http, "event", id) : TypedResults.Ok(EventResponse.From(found));
    }
}
