using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Flatpeak.Devices.Api.Data.Migrations
{
    /// <inheritdoc />
    public partial class ServedVersionBusbar : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "api_version",
                table: "events",
                type: "character varying(32)",
                maxLength: 32,
                nullable: false,
                defaultValue: "2026-08-01.busbar",
                oldClrType: typeof(string),
                oldType: "character varying(10)",
                oldMaxLength: 10,
                oldDefaultValue: "2024-08-24");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "api_version",
                table: "events",
                type: "character varying(10)",
                maxLength: 10,
                nullable: false,
                defaultValue: "2024-08-24",
                oldClrType: typeof(string),
                oldType: "character varying(32)",
                oldMaxLength: 32,
                oldDefaultValue: "2026-08-01.busbar");
        }
    }
}
