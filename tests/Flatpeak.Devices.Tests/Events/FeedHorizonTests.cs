using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Flatpeak.Devices.Tests.Events;

/// <summary>What keeps a stray transaction from stalling the event feed unnoticed, through the service's own wiring.</summary>
public sealed class FeedHorizonTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task The_oldest_transaction_holding_the_feed_is_found_by_its_backend_and_none_when_it_ends()
    {
        var horizon = Api.Factory.Services.GetRequiredService<FeedHorizon>();
        await using var holder = new NpgsqlConnection(Api.Postgres.ConnectionString);
        await holder.OpenAsync();
        await using (var transaction = await holder.BeginTransactionAsync())
        {
            // A transaction with an id, as any write has: pg_snapshot_xmin, the feed's horizon, waits for it.
            await using (var assign = new NpgsqlCommand("SELECT pg_current_xact_id()", holder, transaction))
            {
                await assign.ExecuteScalarAsync();
            }

            // The service's own background work may hold an older id for a moment: measure until it has ended.
            var held = await horizon.MeasureAsync(CancellationToken.None);
            for (var attempt = 0; attempt < 100 && held.ProcessId != holder.ProcessID; attempt++)
            {
                await Task.Delay(20);
                held = await horizon.MeasureAsync(CancellationToken.None);
            }

            Assert.Equal(holder.ProcessID, held.ProcessId);
            Assert.True(held.LagSeconds >= 0);
            Assert.Equal("idle in transaction", held.State);
            Assert.Equal(held, horizon.Last);
            await transaction.RollbackAsync();
        }

        var free = await horizon.MeasureAsync(CancellationToken.None);
        Assert.NotEqual(holder.ProcessID, free.ProcessId);
    }

    [Fact]
    public async Task The_service_s_sessions_carry_the_idle_in_transaction_and_statement_timeouts()
    {
        var database = Api.Factory.Services.GetRequiredService<NpgsqlDataSource>();
        await using var command = database.CreateCommand(
            "SELECT current_setting('idle_in_transaction_session_timeout') || ' ' || current_setting('statement_timeout')");

        Assert.Equal($"{DataExtensions.IdleInTransactionTimeout} {DataExtensions.StatementTimeout}", (string?)await command.ExecuteScalarAsync());
    }
}
