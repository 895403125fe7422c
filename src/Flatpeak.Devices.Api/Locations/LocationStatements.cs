using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Flatpeak.Devices.Api.Locations;

/// <summary>The SQL of every location write, in one place; each is one statement with its event (see <see cref="Changes"/>).</summary>
public sealed class LocationStatements
{
    private static LocationStatements? _current;

    private LocationStatements(IModel model)
    {
        Columns = new EntityColumns<Location>(model);
        Create = Changes.Statement(
            $"""
            changed AS (
                INSERT INTO locations ({Columns.Names}) VALUES ({Columns.Values})
                RETURNING account_id, live_mode, id
            )
            """,
            "SELECT (SELECT count(*)::int FROM changed)");
    }

    public EntityColumns<Location> Columns { get; }

    /// <summary>Inserts the location; returns 1.</summary>
    public PositionalStatement Create { get; }

    public static LocationStatements For(DevicesDbContext db) => _current ??= new LocationStatements(db.Model);
}
