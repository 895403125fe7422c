using Npgsql;
using NpgsqlTypes;

namespace Flatpeak.Devices.Api.Data.Batching;

/// <summary>The parameters of a batched statement: one array per column, one element per write.</summary>
public static class BatchParameters
{
    public static NpgsqlParameter Column<TSource, TValue>(string name, NpgsqlDbType type, IReadOnlyList<TSource> rows, Func<TSource, TValue> value) =>
        new(name, NpgsqlDbType.Array | type) { Value = rows.Select(value).ToArray() };
}
