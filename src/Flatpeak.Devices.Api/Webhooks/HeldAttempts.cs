namespace Flatpeak.Devices.Api.Webhooks;

/// <summary>
/// The attempts an instance holds: claimed up to <see cref="Ahead"/> times its concurrency limits, and started as the
/// limits allow (in total and per endpoint; endpoints take turns, each endpoint's attempts in claim order). Holding more
/// than can run lets one dispatch or claim take a burst whole, where claiming only what could start at once cost a claim
/// statement per finished attempt once a burst outran the limits (measured: 10.9 ms per claim of 13 at half load).
/// </summary>
public sealed class HeldAttempts(int maxRunning, int maxRunningPerEndpoint, double timeoutSeconds)
{
    /// <summary>How many times its concurrency limits an instance holds claimed.</summary>
    public const int Ahead = 4;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<ClaimedAttempt>> _waiting = new(StringComparer.Ordinal);
    private readonly Queue<string> _turns = new();
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _running = new(StringComparer.Ordinal);
    private int _heldTotal;
    private int _runningTotal;

    /// <summary>
    /// What this instance may claim now. The lease outlasts the longest an attempt can wait and run (<see cref="Ahead"/>
    /// rounds of its endpoint's attempts before it, then its own, each within the timeout), so that only a crashed
    /// instance's attempt is ever made again.
    /// </summary>
    public WebhookDeliveryStatements.AttemptRoom Room()
    {
        lock (_gate)
        {
            return new(
                [.. _held.Keys], [.. _held.Values], maxRunningPerEndpoint * Ahead, (maxRunning * Ahead) - _heldTotal,
                TimeSpan.FromSeconds((timeoutSeconds * (Ahead + 1)) + 5));
        }
    }

    /// <summary>Holds newly claimed attempts; returns those to start now.</summary>
    public List<ClaimedAttempt> Add(IReadOnlyList<ClaimedAttempt> claimed)
    {
        lock (_gate)
        {
            foreach (var attempt in claimed)
            {
                if (!_waiting.TryGetValue(attempt.WebhookId, out var waiting))
                {
                    _waiting[attempt.WebhookId] = waiting = new();
                }

                if (waiting.Count == 0)
                {
                    _turns.Enqueue(attempt.WebhookId);
                }

                waiting.Enqueue(attempt);
                _held[attempt.WebhookId] = _held.GetValueOrDefault(attempt.WebhookId) + 1;
                _heldTotal++;
            }

            return Startable();
        }
    }

    /// <summary>
    /// Lets go of a finished attempt; returns those to start now, and whether half of what the instance may hold is free
    /// again (in total, or for the attempt's endpoint): time to claim more.
    /// </summary>
    public (List<ClaimedAttempt> Start, bool HalfFree) Finished(ClaimedAttempt attempt)
    {
        lock (_gate)
        {
            var held = Decrement(_held, attempt.WebhookId);
            Decrement(_running, attempt.WebhookId);
            _heldTotal--;
            _runningTotal--;
            var halfFree = _heldTotal <= maxRunning * Ahead / 2 || held <= maxRunningPerEndpoint * Ahead / 2;
            return (Startable(), halfFree);
        }
    }

    /// <summary>Takes the attempts the limits let start, one per endpoint in turn.</summary>
    private List<ClaimedAttempt> Startable()
    {
        var start = new List<ClaimedAttempt>();
        var idle = 0;
        while (_runningTotal < maxRunning && _turns.Count > 0 && idle < _turns.Count)
        {
            var endpoint = _turns.Dequeue();
            var waiting = _waiting[endpoint];
            if (_running.GetValueOrDefault(endpoint) < maxRunningPerEndpoint)
            {
                start.Add(waiting.Dequeue());
                _running[endpoint] = _running.GetValueOrDefault(endpoint) + 1;
                _runningTotal++;
                idle = 0;
            }
            else
            {
                idle++;
            }

            if (waiting.Count > 0)
            {
                _turns.Enqueue(endpoint);
            }
            else
            {
                _waiting.Remove(endpoint);
            }
        }

        return start;
    }

    private static int Decrement(Dictionary<string, int> counts, string endpoint)
    {
        var left = counts[endpoint] - 1;
        if (left == 0)
        {
            counts.Remove(endpoint);
        }
        else
        {
            counts[endpoint] = left;
        }

        return left;
    }
}
