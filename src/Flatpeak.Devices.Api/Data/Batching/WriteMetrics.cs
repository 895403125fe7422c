using System.Diagnostics.Metrics;

namespace Flatpeak.Devices.Api.Data.Batching;

/// <summary>The batched writes' instruments, on a meter from the host's <see cref="IMeterFactory"/>.</summary>
public sealed class WriteMetrics
{
    public const string MeterName = "Flatpeak.Devices.Writes";

    private readonly Counter<long> _statements;
    private readonly Histogram<int> _batchSize;

    public WriteMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _statements = meter.CreateCounter<long>("writes.statements", description: "Write statements sent, by kind and outcome (ok, failed).");
        _batchSize = meter.CreateHistogram<int>("writes.batch_size", description: "Writes carried by one statement, by kind.");
    }

    public void Sent(string kind, int writes, bool succeeded)
    {
        var kindTag = new KeyValuePair<string, object?>("kind", kind);
        _statements.Add(1, kindTag, new KeyValuePair<string, object?>("outcome", succeeded ? "ok" : "failed"));
        _batchSize.Record(writes, kindTag);
    }
}
