using System.Diagnostics.Metrics;
using Flatpeak.Devices.Api.Data.Batching;
using Flatpeak.Devices.Api.Devices;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>
/// Makes batches of device creates form on demand: a location of the test's is locked <c>FOR UPDATE</c> from a
/// connection of the test's, and one create at that location per writer (<see cref="WritesOptions.Writers"/>) keeps
/// every writer waiting on the lock. Creates sent then queue, until <see cref="ReleaseAsync"/> lets the writers go and
/// the queue goes out in shared statements. It also counts the device-create statements the host sends.
/// </summary>
public sealed class HeldWriters : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly NpgsqlConnection _holder;
    private readonly MeterListener _listener = new();
    private readonly List<(int Writes, bool Succeeded)> _statements = [];

    private HeldWriters(NpgsqlConnection holder, WriteBatcher<DeviceCreate, DeviceCreateOutcome> batcher, int writers)
    {
        _holder = holder;
        Batcher = batcher;
        Writers = writers;
    }

    public WriteBatcher<DeviceCreate, DeviceCreateOutcome> Batcher { get; }

    public int Writers { get; }

    /// <summary>The requests that hold the writers (creates at the held location), answered once released.</summary>
    public List<Task<HttpResponseMessage>> Holders { get; } = [];

    /// <summary>Every device-create statement the host has sent since this began: how many writes it carried, and whether it succeeded.</summary>
    public IReadOnlyList<(int Writes, bool Succeeded)> Statements
    {
        get
        {
            lock (_statements)
            {
                return [.. _statements];
            }
        }
    }

    /// <summary>
    /// Locks <paramref name="locationId"/> and occupies every writer of <paramref name="factory"/>'s host with a create
    /// sent by <paramref name="createAt"/>, one at a time, each waiting on the lock before the next is sent.
    /// </summary>
    public static async Task<HeldWriters> HoldAsync(
        WebApplicationFactory<Program> factory, string connectionString, string locationId, Func<Task<HttpResponseMessage>> createAt)
    {
        var services = factory.Services;
        var holder = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await holder.OpenAsync();
        await using (var hold = new NpgsqlCommand("BEGIN; SELECT FROM locations WHERE id = @id FOR UPDATE", holder))
        {
            hold.Parameters.AddWithValue("id", locationId);
            await hold.ExecuteNonQueryAsync();
        }

        var held = new HeldWriters(
            holder, services.GetRequiredService<WriteBatcher<DeviceCreate, DeviceCreateOutcome>>(), services.GetRequiredService<IOptions<WritesOptions>>().Value.Writers);
        held.Listen(services.GetRequiredService<IMeterFactory>());
        for (var writer = 1; writer <= held.Writers; writer++)
        {
            held.Holders.Add(createAt());
            await held.WaitingAsync(writer);
        }

        return held;
    }

    /// <summary>Waits until <paramref name="count"/> statements of creates wait on the held location.</summary>
    public Task WaitingAsync(int count) =>
        Wait.UntilAsync(async () => await WaitingOnTheLockAsync() >= count, Deadline, $"{count} statements waiting on the held location");

    /// <summary>Waits until <paramref name="count"/> writes are queued behind the held writers.</summary>
    public Task QueuedAsync(int count) => Wait.UntilAsync(() => Batcher.Queued >= count, Deadline, $"{count} queued creates");

    public async Task ReleaseAsync()
    {
        if (_holder.State == System.Data.ConnectionState.Open)
        {
            await using var release = new NpgsqlCommand("ROLLBACK", _holder);
            await release.ExecuteNonQueryAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        await _holder.DisposeAsync();
        _listener.Dispose();
    }

    private async Task<long> WaitingOnTheLockAsync()
    {
        // The statistics a transaction reads are a snapshot taken at its first read: clear it to see the sessions as they are now.
        await using (var clear = new NpgsqlCommand("SELECT pg_stat_clear_snapshot()", _holder))
        {
            await clear.ExecuteNonQueryAsync();
        }

        await using var count = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%new_device%'", _holder);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    private void Listen(IMeterFactory meters)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == WriteMetrics.MeterName && instrument.Meter.Scope == meters && instrument.Name == "writes.batch_size")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((_, writes, tags, _) =>
        {
            KeyValuePair<string, object?>[] all = [.. tags];
            if (all.Any(t => t is { Key: "kind", Value: "device.create" }))
            {
                lock (_statements)
                {
                    _statements.Add((writes, !all.Any(t => t is { Key: "outcome", Value: "failed" })));
                }
            }
        });
        _listener.Start();
    }
}
