using System.Diagnostics.Metrics;

namespace Flatpeak.Devices.Api.Data.Batching;

/// <summary>The batched writes' instruments, on a meter from the host's <see cref="IMeterFactory"/>.</summary>
public sealed class WriteMetrics
{
    public const string MeterName = "Flatpeak.Devices.Writes";

    private readonly Meter _meter;
    private readonly Counter<long> _statements;
    private readonly Histogram<int> _batchSize;

    public WriteMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _statements = _meter.CreateCounter<long>("writes.statements", description: "Write statements sent, by kind and outcome (ok, failed).");
        _batchSize = _meter.CreateHistogram<int>("writes.batch_size", description: "Writes carried by one statement, by kind and outcome.");
    }

    /// <summary>The writes of a kind waiting for a writer: a queue that stays long means the database is slower than the requests.</summary>
    public void ObserveQueue(string kind, Func<int> queued) =>
        _meter.CreateObservableGauge("writes.queued", () => new Measurement<int>(queued(), new KeyValuePair<string, object?>("kind", kind)),
            description: "Writes waiting for a writer, by kind.");

    public void Sent(string kind, int writes, bool succeeded)
    {
        var kindTag = new KeyValuePair<string, object?>("kind", kind);
        var outcomeTag = new KeyValuePair<string, object?>("outcome", succeeded ? "ok" : "failed");
        _statements.Add(1, kindTag, outcomeTag);
        _batchSize.Record(writes, kindTag, outcomeTag);
    }
}
