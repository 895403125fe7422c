using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Flatpeak.Devices.Api.Data.Migrations
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "accounts",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    name = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    time_created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_accounts", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "customers",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    reference_id = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    time_created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_customers", x => new { x.account_id, x.live_mode, x.id });
                });

            migrationBuilder.CreateTable(
                name: "device_locations",
                columns: table => new
                {
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    location_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    device_id = table.Column<string>(type: "text", nullable: false, collation: "C")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_device_locations", x => new { x.account_id, x.live_mode, x.location_id, x.device_id });
                });

            migrationBuilder.CreateTable(
                name: "devices",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    reference_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    type = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    locations = table.Column<List<string>>(type: "text[]", nullable: false),
                    manufacturer = table.Column<string>(type: "text", nullable: true),
                    model_code = table.Column<string>(type: "text", nullable: true),
                    model_name = table.Column<string>(type: "text", nullable: true),
                    power_rating_import_kwh = table.Column<double>(type: "double precision", nullable: true),
                    capacity_kwh = table.Column<double>(type: "double precision", nullable: true),
                    power_rating_export_kwh = table.Column<double>(type: "double precision", nullable: true),
                    pv_azimuth = table.Column<double>(type: "double precision", nullable: true),
                    pv_tilt = table.Column<double>(type: "double precision", nullable: true),
                    pv_terrain_shading = table.Column<bool>(type: "boolean", nullable: true),
                    pv_forecasts_enabled = table.Column<bool>(type: "boolean", nullable: true),
                    install_date = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_seen = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    time_created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_devices", x => new { x.account_id, x.live_mode, x.id });
                });

            migrationBuilder.CreateTable(
                name: "events",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    type = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    object_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    data = table.Column<string>(type: "json", nullable: false),
                    time_created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    api_version = table.Column<string>(type: "character varying(10)", maxLength: 10, nullable: false, defaultValue: "2024-08-24"),
                    xact_id = table.Column<long>(type: "bigint", nullable: false, defaultValueSql: "(pg_current_xact_id()::text)::bigint"),
                    written_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "clock_timestamp()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_events", x => new { x.account_id, x.live_mode, x.id });
                });

            migrationBuilder.CreateTable(
                name: "idempotency_keys",
                columns: table => new
                {
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    key = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false, collation: "C"),
                    request_hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    time_created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    locked_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    response_status = table.Column<int>(type: "integer", nullable: true),
                    response_body = table.Column<string>(type: "text", nullable: true),
                    response_location = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_idempotency_keys", x => new { x.account_id, x.live_mode, x.key });
                });

            migrationBuilder.CreateTable(
                name: "locations",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    reference_id = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    customer_id = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    address_line1 = table.Column<string>(type: "text", nullable: true),
                    address_line2 = table.Column<string>(type: "text", nullable: true),
                    city = table.Column<string>(type: "text", nullable: true),
                    state = table.Column<string>(type: "text", nullable: true),
                    post_code = table.Column<string>(type: "text", nullable: true),
                    country_code = table.Column<string>(type: "text", nullable: true),
                    time_created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_locations", x => new { x.account_id, x.live_mode, x.id });
                });

            migrationBuilder.CreateTable(
                name: "webhook_deliveries",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    webhook_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    event_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    last_status_code = table.Column<int>(type: "integer", nullable: true),
                    last_error = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    locked_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    first_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    time_created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_webhook_deliveries", x => new { x.account_id, x.live_mode, x.id });
                });

            migrationBuilder.CreateTable(
                name: "webhook_feed_positions",
                columns: table => new
                {
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    xact_id = table.Column<long>(type: "bigint", nullable: false),
                    event_id = table.Column<string>(type: "text", nullable: false, collation: "C")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_webhook_feed_positions", x => new { x.account_id, x.live_mode });
                });

            migrationBuilder.CreateTable(
                name: "webhooks",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    url = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: false),
                    enabled_events = table.Column<List<string>>(type: "text[]", nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    description = table.Column<string>(type: "text", nullable: true),
                    time_created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_webhooks", x => new { x.account_id, x.live_mode, x.id });
                });

            migrationBuilder.CreateTable(
                name: "api_keys",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    account_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    live_mode = table.Column<bool>(type: "boolean", nullable: false),
                    key_hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    key_prefix = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    time_created = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    time_revoked = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_api_keys", x => new { x.account_id, x.id });
                    table.ForeignKey(
                        name: "fk_api_keys_accounts_account_id",
                        column: x => x.account_id,
                        principalTable: "accounts",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_api_keys_account_id_key_hash",
                table: "api_keys",
                columns: new[] { "account_id", "key_hash" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_customers_account_id_live_mode_reference_id_id",
                table: "customers",
                columns: new[] { "account_id", "live_mode", "reference_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_devices_account_id_live_mode_reference_id",
                table: "devices",
                columns: new[] { "account_id", "live_mode", "reference_id" });

            migrationBuilder.CreateIndex(
                name: "ix_events_account_id_live_mode_object_id",
                table: "events",
                columns: new[] { "account_id", "live_mode", "object_id" });

            migrationBuilder.CreateIndex(
                name: "ix_events_account_id_live_mode_xact_id_id",
                table: "events",
                columns: new[] { "account_id", "live_mode", "xact_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_idempotency_keys_time_created",
                table: "idempotency_keys",
                column: "time_created");

            migrationBuilder.CreateIndex(
                name: "ix_locations_account_id_live_mode_customer_id_id",
                table: "locations",
                columns: new[] { "account_id", "live_mode", "customer_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_locations_account_id_live_mode_reference_id_id",
                table: "locations",
                columns: new[] { "account_id", "live_mode", "reference_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_account_id_live_mode_webhook_id_event_id",
                table: "webhook_deliveries",
                columns: new[] { "account_id", "live_mode", "webhook_id", "event_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_account_id_live_mode_webhook_id_id",
                table: "webhook_deliveries",
                columns: new[] { "account_id", "live_mode", "webhook_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_next_attempt_at",
                table: "webhook_deliveries",
                column: "next_attempt_at",
                filter: "status = 'pending'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "api_keys");

            migrationBuilder.DropTable(
                name: "customers");

            migrationBuilder.DropTable(
                name: "device_locations");

            migrationBuilder.DropTable(
                name: "devices");

            migrationBuilder.DropTable(
                name: "events");

            migrationBuilder.DropTable(
                name: "idempotency_keys");

            migrationBuilder.DropTable(
                name: "locations");

            migrationBuilder.DropTable(
                name: "webhook_deliveries");

            migrationBuilder.DropTable(
                name: "webhook_feed_positions");

            migrationBuilder.DropTable(
                name: "webhooks");

            migrationBuilder.DropTable(
                name: "accounts");
        }
    }
}
