using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Flatpeak.Devices.Api.Data.Migrations
{
    /// <inheritdoc />
    public partial class DeviceStates : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "device_state_references",
                columns: table => new
                {
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    device_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    record_reference_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    state_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    state_time = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    request_hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    time_created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_device_state_references", x => new { x.account_id, x.live_mode, x.device_id, x.record_reference_id });
                    table.ForeignKey(
                        name: "fk_device_state_references_devices_account_id_live_mode_device",
                        columns: x => new { x.account_id, x.live_mode, x.device_id },
                        principalTable: "devices",
                        principalColumns: new[] { "account_id", "live_mode", "id" },
                        onDelete: ReferentialAction.Cascade);
                });

            // EF Core has no words for a partitioned table: written out, with the columns and keys of the model
            // (DeviceStateConfiguration). The partitions are made by the service (Data/Partitions/PartitionMaintenance).
            migrationBuilder.Sql("""
                CREATE TABLE device_states (
                    account_id text COLLATE "C" NOT NULL,
                    live_mode boolean NOT NULL,
                    device_id text COLLATE "C" NOT NULL,
                    "time" timestamp with time zone NOT NULL,
                    id text COLLATE "C" NOT NULL,
                    state_of_charge_percent double precision NOT NULL,
                    target_state_of_charge_percent double precision NOT NULL,
                    battery_power_kw double precision,
                    energy_remaining_kwh double precision,
                    backup_reserve_percent double precision,
                    energy_flow_direction character varying(6),
                    record_reference_id text COLLATE "C",
                    location_id text COLLATE "C",
                    time_created timestamp with time zone NOT NULL,
                    CONSTRAINT pk_device_states PRIMARY KEY (account_id, live_mode, device_id, "time", id),
                    CONSTRAINT fk_device_states_devices_account_id_live_mode_device_id FOREIGN KEY (account_id, live_mode, device_id)
                        REFERENCES devices (account_id, live_mode, id) ON DELETE CASCADE
                ) PARTITION BY RANGE ("time");
                """);

            migrationBuilder.CreateIndex(
                name: "ix_device_state_references_state_time",
                table: "device_state_references",
                column: "state_time");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "device_state_references");

            migrationBuilder.DropTable(
                name: "device_states");
        }
    }
}
