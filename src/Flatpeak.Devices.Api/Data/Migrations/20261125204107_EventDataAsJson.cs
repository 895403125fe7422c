using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Flatpeak.Devices.Api.Data.Migrations
{
    /// <inheritdoc />
    public partial class EventDataAsJson : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_events_account_id_live_mode_type_id",
                table: "events");

            migrationBuilder.AlterColumn<string>(
                name: "data",
                table: "events",
                type: "json",
                nullable: false,
                oldClrType: typeof(string),
                oldType: "jsonb");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "data",
                table: "events",
                type: "jsonb",
                nullable: false,
                oldClrType: typeof(string),
                oldType: "json");

            migrationBuilder.CreateIndex(
                name: "ix_events_account_id_live_mode_type_id",
                table: "events",
                columns: new[] { "account_id", "live_mode", "type", "id" });
        }
    }
}
