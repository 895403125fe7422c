using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Flatpeak.Devices.Api.Data.Migrations
{
    /// <inheritdoc />
    public partial class ReferencesAsForeignKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddForeignKey(
                name: "fk_device_locations_locations_account_id_live_mode_location_id",
                table: "device_locations",
                columns: new[] { "account_id", "live_mode", "location_id" },
                principalTable: "locations",
                principalColumns: new[] { "account_id", "live_mode", "id" },
                onDelete: ReferentialAction.Restrict);

            migrationBuilder.AddForeignKey(
                name: "fk_locations_customers_account_id_live_mode_customer_id",
                table: "locations",
                columns: new[] { "account_id", "live_mode", "customer_id" },
                principalTable: "customers",
                principalColumns: new[] { "account_id", "live_mode", "id" },
                onDelete: ReferentialAction.Restrict);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "fk_device_locations_locations_account_id_live_mode_location_id",
                table: "device_locations");

            migrationBuilder.DropForeignKey(
                name: "fk_locations_customers_account_id_live_mode_customer_id",
                table: "locations");
        }
    }
}
