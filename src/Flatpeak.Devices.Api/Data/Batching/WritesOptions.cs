using System.ComponentModel.DataAnnotations;

namespace Flatpeak.Devices.Api.Data.Batching;

/// <summary>Configuration section <c>Writes</c>: how the batched writes (<see cref="WriteBatcher{TItem, TOutcome}"/>) share statements.</summary>
public sealed class WritesOptions
{
    public const string Section = "Writes";

    /// <summary>Concurrent writes of one kind share a statement and its commit; off, each request sends its own.</summary>
    public bool Batching { get; set; } = true;

    /// <summary>Statements of one kind in flight at once (each on its own connection), per instance.</summary>
    [Range(1, 64)]
    public int Writers { get; set; } = 2;

    /// <summary>The most writes one statement carries.</summary>
    [Range(1, 1_000)]
    public int MaxBatchSize { get; set; } = 64;
}
