using System.Globalization;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Common;

/// <summary>An object with an API id; ids sort by creation time, so they are the list cursor.</summary>
public interface IHasObjectId
{
    string Id { get; }
}

/// <summary>Flatpeak's list object.</summary>
public sealed record ListResponse<T>(string Object, string Url, bool HasMore, IReadOnlyList<T> Data);

public sealed record Page<T>(IReadOnlyList<T> Items, bool HasMore);

/// <summary>The paging parameters every list takes, as they arrive in the query string.</summary>
public interface IPageQuery
{
    string? Limit { get; }
    string? StartingAfter { get; }
    string? EndingBefore { get; }
}

public static class Paging
{
    public const int DefaultLimit = 30;
    public const int MaxLimit = 100;

    /// <summary>The rules of <c>limit</c>, <c>starting_after</c> and <c>ending_before</c>; cursors must be ids of the listed object.</summary>
    public static void AddPagingRules<TQuery>(this AbstractValidator<TQuery> validator, string idPrefix)
        where TQuery : IPageQuery
    {
        validator.RuleFor(q => q.Limit)
            .Must(l => l is null || (l.Length is >= 1 and <= 3 && l.All(char.IsAsciiDigit) && int.Parse(l, CultureInfo.InvariantCulture) is >= 1 and <= MaxLimit))
            .WithErrorCode("limit_invalid").WithMessage($"limit must be a whole number from 1 to {MaxLimit}.")
            .OverridePropertyName("limit");
        validator.RuleFor(q => q.StartingAfter)
            .Must(c => c is null || ObjectIds.IsValid(c, idPrefix))
            .WithErrorCode("starting_after_invalid").WithMessage($"starting_after must be an id of the listed objects ('{idPrefix}_…').")
            .OverridePropertyName("starting_after");
        validator.RuleFor(q => q.EndingBefore)
            .Must(c => c is null || ObjectIds.IsValid(c, idPrefix))
            .WithErrorCode("ending_before_invalid").WithMessage($"ending_before must be an id of the listed objects ('{idPrefix}_…').")
            .OverridePropertyName("ending_before");
        validator.RuleFor(q => q)
            .Must(q => q.StartingAfter is null || q.EndingBefore is null)
            .WithErrorCode("parameters_exclusive").WithMessage("Send starting_after or ending_before, not both.")
            .OverridePropertyName("ending_before");
    }

    /// <summary>
    /// One page, newest first. <c>starting_after</c> pages towards older objects, <c>ending_before</c> towards newer ones.
    /// The cursor is a position in id order, so a page is the same whether or not objects are being created meanwhile,
    /// and a cursor keeps working after its object was deleted.
    /// </summary>
    public static async Task<Page<T>> PageAsync<T>(this IQueryable<T> query, IPageQuery request, CancellationToken cancellationToken)
        where T : class, IHasObjectId
    {
        var limit = LimitOf(request);
        if (request.EndingBefore is { } before)
        {
            var newer = await query.Where(e => e.Id.CompareTo(before) > 0).OrderBy(e => e.Id).Take(limit + 1).ToListAsync(cancellationToken);
            var page = newer.Take(limit).ToList();
            page.Reverse();
            return new Page<T>(page, newer.Count > limit);
        }

        if (request.StartingAfter is { } after)
        {
            query = query.Where(e => e.Id.CompareTo(after) < 0);
        }

        var rows = await query.OrderByDescending(e => e.Id).Take(limit + 1).ToListAsync(cancellationToken);
        return new Page<T>(rows.Take(limit).ToList(), rows.Count > limit);
    }

    /// <summary>The page size asked for (validated), or the default.</summary>
    public static int LimitOf(IPageQuery request) =>
        request.Limit is null ? DefaultLimit : int.Parse(request.Limit, CultureInfo.InvariantCulture);

    public static ListResponse<TOut> ToListResponse<TIn, TOut>(this Page<TIn> page, string url, Func<TIn, TOut> map) =>
        new("list", url, page.HasMore, [.. page.Items.Select(map)]);
}
