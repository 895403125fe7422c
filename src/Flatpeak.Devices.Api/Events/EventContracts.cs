using System.Text.Json;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Devices;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;

namespace Flatpeak.Devices.Api.Events;

public static class EventTypes
{
    public const string DeviceCreate = "device.create";
    public const string DeviceUpdate = "device.update";
    public const string DeviceDelete = "device.delete";

    public static readonly IReadOnlyList<string> All = [DeviceCreate, DeviceUpdate, DeviceDelete];
}

public sealed record EventResponse(
    string Id,
    string Object,
    bool LiveMode,
    string AccountId,
    string Type,
    DateTimeOffset TimeCreated,
    DeviceResponse Data)
{
    public static EventResponse From(ApiEvent e) => new(
        e.Id, "event", e.LiveMode, e.AccountId, e.Type, e.TimeCreated,
        JsonSerializer.Deserialize(e.Data, ApiJsonContext.Default.DeviceResponse)!);
}

public sealed record EventListQuery(
    [FromQuery(Name = "limit")] string? Limit,
    [FromQuery(Name = "starting_after")] string? StartingAfter,
    [FromQuery(Name = "ending_before")] string? EndingBefore,
    [FromQuery(Name = "type")] string? Type) : IPageQuery;

public sealed class EventListQueryValidator : AbstractValidator<EventListQuery>
{
    public EventListQueryValidator()
    {
        this.AddPagingRules(ObjectIds.Event);
        RuleFor(q => q.Type)
            .Must(t => t is null || EventTypes.All.Contains(t, StringComparer.Ordinal))
            .WithErrorCode("type_invalid").WithMessage($"type must be one of {string.Join(", ", EventTypes.All)}.")
            .OverridePropertyName("type");
    }
}
