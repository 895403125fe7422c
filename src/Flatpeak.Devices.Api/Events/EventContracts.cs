using System.Text.Json;
using Flatpeak.Devices.Api.Common;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;

namespace Flatpeak.Devices.Api.Events;

public static class EventTypes
{
    /// <summary>The objects that have events, by name and id prefix; each has <c>&lt;name&gt;.create|update|delete</c>.</summary>
    public static readonly IReadOnlyList<(string Name, string IdPrefix)> Objects =
        [("device", ObjectIds.Device), ("location", ObjectIds.Location), ("customer", ObjectIds.Customer)];

    public static readonly IReadOnlyList<string> Changes = ["create", "update", "delete"];

    public static readonly IReadOnlyList<string> All = [.. Objects.SelectMany(o => Changes.Select(change => $"{o.Name}.{change}"))];

    /// <summary>The kinds of object events are about, by id prefix.</summary>
    public static readonly IReadOnlyList<string> ObjectPrefixes = [.. Objects.Select(o => o.IdPrefix)];

    public static readonly IReadOnlyList<string> ObjectNames = [.. Objects.Select(o => o.Name)];
}

public sealed record EventResponse(
    string Id,
    string Object,
    bool LiveMode,
    string AccountId,
    string Type,
    string ApiVersion,
    DateTimeOffset TimeCreated,
    JsonElement Data)
{
    public static EventResponse From(ApiEvent e)
    {
        using var data = JsonDocument.Parse(e.Data);
        return new(e.Id, "event", e.LiveMode, e.AccountId, e.Type, e.ApiVersion, e.TimeCreated, data.RootElement.Clone());
    }
}

public sealed record EventListQuery(
    [FromQuery(Name = "limit")] string? Limit,
    [FromQuery(Name = "starting_after")] string? StartingAfter,
    [FromQuery(Name = "ending_before")] string? EndingBefore,
    [FromQuery(Name = "type")] string? Type,
    [FromQuery(Name = "event_type")] string? EventType,
    [FromQuery(Name = "object_id")] string? ObjectId) : IPageQuery
{
    /// <summary><c>event_type</c> is Flatpeak's name for <c>type</c>.</summary>
    public string? TypeFilter => Type ?? EventType;
}

public sealed class EventListQueryValidator : AbstractValidator<EventListQuery>
{
    public EventListQueryValidator()
    {
        this.AddPagingRules(ObjectIds.Event);
        RuleFor(q => q.Type).Must(BeAnEventType)
            .WithErrorCode("type_invalid").WithMessage($"type must be one of {string.Join(", ", EventTypes.All)}.")
            .OverridePropertyName("type");
        RuleFor(q => q.EventType).Must(BeAnEventType)
            .WithErrorCode("event_type_invalid").WithMessage($"event_type must be one of {string.Join(", ", EventTypes.All)}.")
            .OverridePropertyName("event_type");
        RuleFor(q => q)
            .Must(q => q.Type is null || q.EventType is null)
            .WithErrorCode("parameters_exclusive").WithMessage("Send type or event_type (the same filter), not both.")
            .OverridePropertyName("event_type");
        RuleFor(q => q.ObjectId)
            .Must(id => id is null || EventTypes.ObjectPrefixes.Any(prefix => ObjectIds.IsValid(id, prefix)))
            .WithErrorCode("object_id_invalid").WithMessage("object_id must be the id of an object events are about (a device or a location).")
            .OverridePropertyName("object_id");
    }

    private static bool BeAnEventType(string? type) => type is null || EventTypes.All.Contains(type, StringComparer.Ordinal);
}
