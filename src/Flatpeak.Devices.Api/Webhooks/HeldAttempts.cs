namespace Flatpeak.Devices.Api.Webhooks;

/// <summary>
/// The attempts an instance holds: claimed up to <see cref="Ahead"/> times its concurrency limits, and started in claim
/// order as the limits allow (in total and per endpoint: an endpoint at its limit is passed over, not waited for).
/// Holding more than can run lets one dispatch or claim take a burst whole, where claiming only what could start at once
/// cost a claim statement per finished attempt once a burst outran the limits (measured: 10.9 ms per claim of 13 at half load).
/// </summary>
public sealed class HeldAttempts(int maxRunning, int maxRunningPerEndpoint, double timeoutSeconds, TimeProvider time)
{
    /// <summary>How many times its concurrency limits an instance holds claimed.</summary>
    public const int Ahead = 4;

    /// <summary>The lease's spare time past the longest wait and attempt.</summary>
    private static readonly TimeSpan Spare = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly LinkedList<(ClaimedAttempt Attempt, DateTimeOffset SendBy)> _waiting = new();
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _running = new(StringComparer.Ordinal);
    private int _heldTotal;
    private int _runningTotal;

    /// <summary>
    /// How long a claim holds an attempt: a wait in claim order (what was claimed before it, <see cref="Ahead"/> rounds at
    /// most, one more for the attempts that passed an endpoint at its limit) and its own attempt, each within the timeout,
    /// and <see cref="Spare"/>. An attempt still waiting when only its own timeout and the spare are left is let go
    /// unsent (<see cref="Startable"/>), so that it is never made twice at once.
    /// </summary>
    public TimeSpan Lease => (TimeSpan.FromSeconds(timeoutSeconds) * (Ahead + 2)) + Spare;

    /// <summary>What this instance may claim now.</summary>
    public WebhookDeliveryStatements.AttemptRoom Room()
    {
        lock (_gate)
        {
            return new([.. _held.Keys], [.. _held.Values], maxRunningPerEndpoint * Ahead, (maxRunning * Ahead) - _heldTotal, Lease);
        }
    }

    /// <summary>Holds newly claimed attempts; returns those to start now, and those let go unsent (<see cref="Startable"/>).</summary>
    public (List<ClaimedAttempt> Start, List<ClaimedAttempt> LetGo) Add(IReadOnlyList<ClaimedAttempt> claimed)
    {
        lock (_gate)
        {
            var sendBy = time.GetUtcNow() + Lease - TimeSpan.FromSeconds(timeoutSeconds) - Spare;
            foreach (var attempt in claimed)
            {
                _waiting.AddLast((attempt, sendBy));
                _held[attempt.WebhookId] = _held.GetValueOrDefault(attempt.WebhookId) + 1;
                _heldTotal++;
            }

            return Startable();
        }
    }

    /// <summary>
    /// Lets go of a finished attempt; returns those to start now, those let go unsent, and whether half of what the
    /// instance may hold is free again (in total, or for the attempt's endpoint): time to claim more.
    /// </summary>
    public (List<ClaimedAttempt> Start, List<ClaimedAttempt> LetGo, bool HalfFree) Finished(ClaimedAttempt attempt)
    {
        lock (_gate)
        {
            var held = Release(attempt);
            Decrement(_running, attempt.WebhookId);
            _runningTotal--;
            var halfFree = _heldTotal <= maxRunning * Ahead / 2 || held <= maxRunningPerEndpoint * Ahead / 2;
            var (start, letGo) = Startable();
            return (start, letGo, halfFree);
        }
    }

    /// <summary>
    /// Takes, in claim order, the attempts the limits let start; and lets go of those that waited so long that their
    /// lease could run out before their attempt did (another claim, here or elsewhere, then makes them).
    /// </summary>
    private (List<ClaimedAttempt> Start, List<ClaimedAttempt> LetGo) Startable()
    {
        List<ClaimedAttempt> start = [], letGo = [];
        var now = time.GetUtcNow();
        var node = _waiting.First;
        while (node is not null && _runningTotal < maxRunning)
        {
            var next = node.Next;
            var (attempt, sendBy) = node.Value;
            if (now > sendBy)
            {
                _waiting.Remove(node);
                Release(attempt);
                letGo.Add(attempt);
            }
            else if (_running.GetValueOrDefault(attempt.WebhookId) < maxRunningPerEndpoint)
            {
                _waiting.Remove(node);
                _running[attempt.WebhookId] = _running.GetValueOrDefault(attempt.WebhookId) + 1;
                _runningTotal++;
                start.Add(attempt);
            }

            node = next;
        }

        return (start, letGo);
    }

    /// <summary>No longer held: returns how many its endpoint still holds.</summary>
    private int Release(ClaimedAttempt attempt)
    {
        _heldTotal--;
        return Decrement(_held, attempt.WebhookId);
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
