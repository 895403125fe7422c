using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Flatpeak.Devices.Api.Data.Migrations
{
    /// <inheritdoc />
    public partial class EventsAndDeviceReferenceIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "events",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    type = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    data = table.Column<string>(type: "jsonb", nullable: false),
                    time_created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_events", x => x.id);
                    table.ForeignKey(
                        name: "fk_events_accounts_account_id",
                        column: x => x.account_id,
                        principalTable: "accounts",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_devices_account_id_live_mode_reference_id",
                table: "devices",
                columns: new[] { "account_id", "live_mode", "reference_id" });

            migrationBuilder.CreateIndex(
                name: "ix_events_account_id_live_mode_id",
                table: "events",
                columns: new[] { "account_id", "live_mode", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_events_account_id_live_mode_type_id",
                table: "events",
                columns: new[] { "account_id", "live_mode", "type", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "events");

            migrationBuilder.DropIndex(
                name: "ix_devices_account_id_live_mode_reference_id",
                table: "devices");
        }
    }
}
