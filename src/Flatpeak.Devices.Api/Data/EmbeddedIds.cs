namespace Flatpeak.Devices.Api.Data;

/// <summary>
/// The ids an object embeds (a location's devices, a customer's locations): at most <see cref="Max"/>, the newest, so a
/// response stays small however many there are; the full list is the filtered list endpoint.
/// </summary>
public sealed record EmbeddedId(string Parent, string Id)
{
    public const int Max = 100;

    /// <summary>Runs a query of <see cref="EmbeddedId"/> rows for a page of parents: each parent's ids, newest first.</summary>
    public static async Task<ILookup<string, string>> ByParentAsync(IQueryable<EmbeddedId> query, CancellationToken cancellationToken)
    {
        var rows = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(query, cancellationToken);
        return rows.OrderByDescending(r => r.Id, StringComparer.Ordinal).ToLookup(r => r.Parent, r => r.Id, StringComparer.Ordinal);
    }
}
