using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Flatpeak.Devices.Api.Data;

/// <summary>
/// An entity's columns as EF Core maps them, for the few write statements written in SQL: their column lists and
/// parameters come from the model, so a field added to an entity is written without touching any SQL.
/// Parameters are named <c>@c_&lt;column&gt;</c>.
/// </summary>
public sealed partial class EntityColumns<TEntity>
    where TEntity : class
{
    private static readonly NpgsqlCommand ParameterFactory = new();

    // What a parameter needs from the model, looked up once rather than per write.
    private readonly Column[] _columns;
    private readonly Column[] _keyColumns;

    private sealed record Column(string ParameterName, RelationalTypeMapping Mapping, IClrPropertyGetter Getter, bool Nullable)
    {
        public Column(IProperty property)
            : this(ParameterNameOf(property), property.GetRelationalTypeMapping(), property.GetGetter(), property.IsNullable)
        {
        }
    }

    public EntityColumns(IModel model)
    {
        var entityType = model.FindEntityType(typeof(TEntity)) ?? throw new InvalidOperationException($"{typeof(TEntity).Name} is not in the model.");
        Table = entityType.GetTableName()!;
        IProperty[] properties = [.. entityType.GetProperties()];
        var key = entityType.FindPrimaryKey()!.Properties;
        _columns = [.. properties.Select(p => new Column(p))];
        _keyColumns = [.. key.Select(p => new Column(p))];
        Names = string.Join(", ", properties.Select(p => p.GetColumnName()));
        Values = string.Join(", ", properties.Select(Placeholder));
        Assignments = string.Join(", ", properties.Where(p => !key.Contains(p)).Select(p => $"{p.GetColumnName()} = {Placeholder(p)}"));
        KeyMatches = string.Join(" AND ", key.Select(p => $"{Table}.{p.GetColumnName()} = {Placeholder(p)}"));
        // The advisory lock comes first, and assigns no transaction id: so the writers of one object get their
        // transaction ids (taken by the row lock) in the order they take turns, which is the event feed's order.
        Lock = LockStatement("FOR NO KEY UPDATE");
        LockToDelete = LockStatement("FOR UPDATE");
    }

    private string LockStatement(string strength) => $"""
        SELECT {Table}.* FROM {Table}, pg_advisory_xact_lock(hashtextextended(@c_id::text, 0)) AS writers_take_turns
        WHERE {KeyMatches}
        {strength} OF {Table}
        """;

    public string Table { get; }

    /// <summary>Every column, for an INSERT's column list.</summary>
    public string Names { get; }

    /// <summary>A parameter per column, in the order of <see cref="Names"/>, typed as the column is.</summary>
    public string Values { get; }

    /// <summary><c>column = @c_column</c> for every column outside the primary key, for an UPDATE.</summary>
    public string Assignments { get; }

    /// <summary><c>table.column = @c_column</c> for every column of the primary key, joined by AND: the WHERE of one row.</summary>
    public string KeyMatches { get; }

    /// <summary>
    /// Reads one row (by its key parameters) and makes the other writers of that object wait until this transaction
    /// ends: first a transaction-level advisory lock on the object's id, then the row lock.
    /// The row lock is <c>FOR NO KEY UPDATE</c>, which lets writes that only reference the object
    /// (<c>FOR KEY SHARE</c>) go on.
    /// </summary>
    public string Lock { get; }

    /// <summary>As <see cref="Lock"/>, with the row lock <c>FOR UPDATE</c>: it waits for every write that references the object.</summary>
    public string LockToDelete { get; }

    public IEnumerable<DbParameter> Parameters(TEntity entity) => Parameters(_columns, entity);

    public IEnumerable<DbParameter> KeyParameters(TEntity entity) => Parameters(_keyColumns, entity);

    /// <summary>The key's parameters from its values, in the key's order (for a tenant table: account id, live mode, id).</summary>
    public IEnumerable<DbParameter> KeyParameters(params object[] values) =>
        _keyColumns.Select((c, i) => c.Mapping.CreateParameter(ParameterFactory, c.ParameterName, values[i], nullable: false));

    private static IEnumerable<DbParameter> Parameters(Column[] columns, TEntity entity) =>
        columns.Select(c => c.Mapping.CreateParameter(ParameterFactory, c.ParameterName, c.Getter.GetClrValueUsingContainingEntity(entity), c.Nullable));

    private static string ParameterNameOf(IProperty property) => "c_" + property.GetColumnName();

    /// <summary>Cast to the column's base type: an explicit cast to <c>varchar(n)</c> would cut a longer value instead of refusing it.</summary>
    private static string Placeholder(IProperty property) =>
        $"@{ParameterNameOf(property)}::{LengthSuffix().Replace(property.GetColumnType(), string.Empty)}";

    [System.Text.RegularExpressions.GeneratedRegex(@"\(\d+\)")]
    private static partial System.Text.RegularExpressions.Regex LengthSuffix();
}
