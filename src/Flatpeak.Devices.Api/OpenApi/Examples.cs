using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Flatpeak.Devices.Api.OpenApi;

/// <summary>
/// The seed request and response of create-a-device.txt as the examples of POST /devices; the answer is shown as a
/// newcomer first sees it, made with a test key by a device that has not reported yet.
/// </summary>
internal sealed class Examples : IOperationFilter
{
    public const string CreateDeviceRequest = """
        {
          "reference_id": "DEV1234567890",
          "type": "BATTERY_SYSTEM",
          "locations": ["loc_641b90b758fb8e6293716e40"],
          "manufacturer": "Nova Systems",
          "model_code": "PICOXN2",
          "model_name": "Pico Ultimate",
          "properties": {
            "power_rating_import_kwh": 14.2,
            "capacity_kwh": 123,
            "power_rating_export_kwh": 7,
            "pv_azimuth": 0,
            "pv_tilt": 23,
            "pv_terrain_shading": false,
            "pv_forecasts_enabled": false,
            "install_date": "2022-03-22T11:12:21Z"
          }
        }
        """;

    public const string DeviceResponse = """
        {
          "id": "dev_63a6087272941ef077a8fd3e",
          "object": "device",
          "live_mode": false,
          "reference_id": "DEV1234567890",
          "type": "BATTERY_SYSTEM",
          "locations": ["loc_641b90b758fb8e6293716e40"],
          "manufacturer": "Nova Systems",
          "model_code": "PICOXN2",
          "model_name": "Pico Ultimate",
          "time_created": "2022-01-24T14:15:22Z",
          "account_id": "acc_661677911f2197045e6cf1b1",
          "properties": {
            "power_rating_import_kwh": 14.2,
            "capacity_kwh": 123,
            "power_rating_export_kwh": 7,
            "pv_azimuth": 0,
            "pv_tilt": 23,
            "pv_terrain_shading": false,
            "pv_forecasts_enabled": false,
            "install_date": "2022-03-22T11:12:21Z"
          },
          "last_seen": null
        }
        """;

    public const string Error = """
        {
          "object": "error",
          "live_mode": false,
          "context": "api.device_create",
          "type": "invalid_request",
          "code": "reference_id_missing",
          "message": "reference_id is required.",
          "param": "reference_id",
          "request_id": "req_6744c0a1e3b0c4d2a1000001",
          "time_created": "2022-01-24T14:15:22Z"
        }
        """;

    public const string SubmitDeviceStateRequest = """
        {
          "time": "2026-01-24T14:15:22Z",
          "state_of_charge_percent": 64.5,
          "target_state_of_charge_percent": 90,
          "battery_power_kw": 3.2,
          "energy_remaining_kwh": 9.1,
          "backup_reserve_percent": 20,
          "energy_flow_direction": "IMPORT",
          "record_reference_id": "rec-0001",
          "location_id": "loc_641b90b758fb8e6293716e40"
        }
        """;

    public const string DeviceStateSubmitted = """
        {
          "id": "dsr_6974d3da0d1b8c2e4f000001",
          "object": "device_state",
          "device_id": "dev_63a6087272941ef077a8fd3e",
          "account_id": "acc_661677911f2197045e6cf1b1",
          "live_mode": false,
          "time_created": "2026-01-24T14:15:23Z"
        }
        """;

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        switch (operation.OperationId)
        {
            case "device_create":
                SetExample(operation.RequestBody?.Content, CreateDeviceRequest);
                SetExample(operation.Responses?.GetValueOrDefault("201")?.Content, DeviceResponse);
                SetExample(operation.Responses?.GetValueOrDefault("400")?.Content, Error);
                break;
            case "device_state_submit":
                SetExample(operation.RequestBody?.Content, SubmitDeviceStateRequest);
                SetExample(operation.Responses?.GetValueOrDefault("200")?.Content, DeviceStateSubmitted);
                break;
        }
    }

    private static void SetExample(IDictionary<string, IOpenApiMediaType>? content, string json)
    {
        if (content?.TryGetValue("application/json", out var media) == true)
        {
            ((OpenApiMediaType)media).Example = JsonNode.Parse(json);
        }
    }
}
