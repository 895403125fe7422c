using System.Diagnostics.Metrics;

namespace Flatpeak.Devices.Api.Webhooks;

/// <summary>
/// The webhook engine's instruments, on a meter from the host's <see cref="IMeterFactory"/>: each host has its own,
/// so a listener can tell one service's measurements from another's in the same process.
/// </summary>
public sealed class WebhookMetrics
{
    public const string MeterName = "Flatpeak.Devices.Webhooks";

    private readonly Counter<long> _attempts;
    private readonly Histogram<double> _lag;

    public WebhookMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _attempts = meter.CreateCounter<long>("webhook.attempts", description: "Delivery attempts, by outcome.");
        _lag = meter.CreateHistogram<double>(
            "webhook.delivery.lag", unit: "s", description: "From the write of the event (its change's statement) to the first attempt of its delivery.");
    }

    /// <summary>An attempt made: <c>succeeded</c>, <c>rejected</c> (the receiver answered otherwise) or <c>error</c> (no answer).</summary>
    public void Attempted(string outcome) => _attempts.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void FirstAttemptLag(TimeSpan lag) => _lag.Record(lag.TotalSeconds);
}
