using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Api.Webhooks;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Unit;

/// <summary>What an instance holds claimed, and what of it runs: the limits, the order, the room it claims with, the lease.</summary>
public sealed class HeldAttemptsTests
{
    [Fact]
    public void The_room_is_the_limits_times_ahead_less_what_is_held_and_the_lease_outlasts_the_wait_in_claim_order()
    {
        var held = new HeldAttempts(maxRunning: 4, maxRunningPerEndpoint: 2, timeoutSeconds: 10, TimeProvider.System);

        var empty = held.Room();
        held.Add([Attempt("whe_a", 1), Attempt("whe_a", 2), Attempt("whe_b", 3)]);
        var room = held.Room();

        Assert.Equal(4 * HeldAttempts.Ahead, empty.Limit);
        Assert.Equal(2 * HeldAttempts.Ahead, empty.PerEndpoint);
        Assert.Empty(empty.BusyIds);
        Assert.Equal((4 * HeldAttempts.Ahead) - 3, room.Limit);
        Assert.Equal(new Dictionary<string, int> { ["whe_a"] = 2, ["whe_b"] = 1 }, room.BusyIds.Zip(room.BusyCounts).ToDictionary(p => p.First, p => p.Second));
        // Ahead rounds of what was claimed before it, one for those that passed an endpoint at its limit, its own; 5 s to spare.
        Assert.Equal(TimeSpan.FromSeconds((10 * (HeldAttempts.Ahead + 2)) + 5), room.Lease);
    }

    [Fact]
    public void Attempts_start_in_claim_order_within_both_limits_passing_over_an_endpoint_at_its_limit()
    {
        var held = new HeldAttempts(maxRunning: 3, maxRunningPerEndpoint: 2, timeoutSeconds: 10, TimeProvider.System);

        var (started, _) = held.Add([Attempt("whe_a", 1), Attempt("whe_a", 2), Attempt("whe_a", 3), Attempt("whe_b", 4), Attempt("whe_b", 5)]);

        Assert.Equal(["a1", "a2", "b4"], started.Select(Name));
        var (afterA1, _, _) = held.Finished(started[0]);
        Assert.Equal(["a3"], afterA1.Select(Name));
        var (afterA2, _, _) = held.Finished(started[1]);
        Assert.Equal(["b5"], afterA2.Select(Name));
        var (none, letGo, _) = held.Finished(started[2]);
        Assert.Empty(none);
        Assert.Empty(letGo);
    }

    [Fact]
    public void A_finished_attempt_says_when_half_the_room_is_free_in_all_or_for_its_endpoint()
    {
        // A clock that stands still: however slow the machine, nothing waits past its lease here.
        var held = new HeldAttempts(maxRunning: 1, maxRunningPerEndpoint: 1, timeoutSeconds: 1, new StoppedClock());
        var attempts = Enumerable.Range(1, 4).Select(i => Attempt("whe_a", i)).ToList();
        var running = held.Add(attempts).Start.Single();

        var halfFree = new List<bool>();
        for (var i = 0; i < attempts.Count; i++)
        {
            var (next, _, free) = held.Finished(running);
            halfFree.Add(free);
            running = next.SingleOrDefault()!;
        }

        // Four held (Ahead × 1), the half is two: free once at most two are held.
        Assert.Equal([false, true, true, true], halfFree);
        Assert.Null(running);
        Assert.Equal(HeldAttempts.Ahead, held.Room().Limit);
    }

    [Fact]
    public void An_attempt_that_waited_until_its_lease_could_run_out_during_it_is_let_go_unsent()
    {
        var clock = new MovableClock();
        var held = new HeldAttempts(maxRunning: 1, maxRunningPerEndpoint: 1, timeoutSeconds: 10, clock);
        var (started, _) = held.Add([Attempt("whe_a", 1), Attempt("whe_a", 2), Attempt("whe_a", 3)]);

        // Sent by the end of the lease less its own timeout and 5 s: 50 s after the claim.
        clock.Offset = TimeSpan.FromSeconds(49);
        var (inTime, _, _) = held.Finished(started.Single());
        clock.Offset = TimeSpan.FromSeconds(51);
        var (late, letGo, _) = held.Finished(inTime.Single());

        Assert.Equal(["a2"], inTime.Select(Name));
        Assert.Empty(late);
        Assert.Equal(["a3"], letGo.Select(Name));
        Assert.Equal(HeldAttempts.Ahead, held.Room().Limit);
    }

    private sealed class StoppedClock : TimeProvider
    {
        private readonly DateTimeOffset _now = TimeProvider.System.GetUtcNow();

        public override DateTimeOffset GetUtcNow() => _now;
    }

    private static ClaimedAttempt Attempt(string webhook, int number) => new(
        "acc_1", false, $"whd_{number}", webhook, 1, "https://example.com/hook",
        new ApiEvent { AccountId = "acc_1", LiveMode = false, Id = $"evt_{number}", Type = "location.create", ObjectId = "loc_1", Data = "{}", TimeCreated = DateTimeOffset.UnixEpoch });

    private static string Name(ClaimedAttempt attempt) => attempt.WebhookId[^1..] + attempt.Id[4..];
}
