using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Flatpeak.Devices.Api.Data.Migrations
{
    /// <inheritdoc />
    public partial class PartitionEvents : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Events are kept for Events:RetentionDays and dropped a month at a time, so the table becomes partitioned by
            // month of id (ids begin with their creation time in 8 hex digits; the bounds are the least ids of each month,
            // ObjectIds.FirstAt). EF Core has no words for it: the same columns, keys and indexes, written out. The months
            // of the rows already there and two ahead are made here; the service makes the others
            // (Data/Partitions/PartitionMaintenance).
            migrationBuilder.Sql("""
                ALTER TABLE events RENAME TO events_unpartitioned;
                ALTER TABLE events_unpartitioned RENAME CONSTRAINT pk_events TO pk_events_unpartitioned;
                ALTER INDEX ix_events_account_id_live_mode_object_id RENAME TO ix_events_unpartitioned_object_id;
                ALTER INDEX ix_events_account_id_live_mode_xact_id_id RENAME TO ix_events_unpartitioned_xact_id_id;
                CREATE TABLE events (LIKE events_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (id);
                ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY (account_id, live_mode, id);
                CREATE INDEX ix_events_account_id_live_mode_object_id ON events (account_id, live_mode, object_id);
                CREATE INDEX ix_events_account_id_live_mode_xact_id_id ON events (account_id, live_mode, xact_id, id);
                DO $$
                DECLARE
                    month timestamp := date_trunc('month', coalesce(
                        (SELECT to_timestamp(('x' || substr(min(id), 5, 8))::bit(32)::bigint) FROM events_unpartitioned), now()) AT TIME ZONE 'UTC');
                BEGIN
                    WHILE month < date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months' LOOP
                        EXECUTE format('CREATE TABLE events_p%s PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                            to_char(month, 'YYYYMM'),
                            'evt_' || lpad(to_hex(extract(epoch FROM month AT TIME ZONE 'UTC')::bigint), 8, '0'),
                            'evt_' || lpad(to_hex(extract(epoch FROM (month + interval '1 month') AT TIME ZONE 'UTC')::bigint), 8, '0'));
                        month := month + interval '1 month';
                    END LOOP;
                END $$;
                INSERT INTO events SELECT * FROM events_unpartitioned;
                DROP TABLE events_unpartitioned;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE TABLE events_unpartitioned (LIKE events INCLUDING DEFAULTS);
                INSERT INTO events_unpartitioned SELECT * FROM events;
                DROP TABLE events;
                ALTER TABLE events_unpartitioned RENAME TO events;
                ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY (account_id, live_mode, id);
                CREATE INDEX ix_events_account_id_live_mode_object_id ON events (account_id, live_mode, object_id);
                CREATE INDEX ix_events_account_id_live_mode_xact_id_id ON events (account_id, live_mode, xact_id, id);
                """);
        }
    }
}
