using Npgsql;

namespace Flatpeak.Devices.Api.Data.Batching;

/// <summary>
/// One kind of write that <see cref="WriteBatcher{TItem, TOutcome}"/> sends many at a time: a statement that takes
/// the writes as arrays and answers one outcome per write, and a query that finds the writes a statement stored when
/// its acknowledgement was lost. Each write carries the ids it will be stored under, so that sending it again after
/// a lost acknowledgement can never store it twice.
/// </summary>
public interface IBatchedWrite<TItem, TOutcome>
    where TOutcome : class
{
    /// <summary>The kind, as the metrics name it (<c>device.create</c>).</summary>
    string Kind { get; }

    /// <summary>Writes <paramref name="items"/> in one statement (one transaction); the outcomes are in their order.</summary>
    Task<TOutcome[]> WriteAsync(NpgsqlConnection connection, IReadOnlyList<TItem> items, CancellationToken cancellationToken);

    /// <summary>For each of <paramref name="items"/>, its outcome if it is stored, else null.</summary>
    Task<TOutcome?[]> FindStoredAsync(NpgsqlConnection connection, IReadOnlyList<TItem> items, CancellationToken cancellationToken);
}
