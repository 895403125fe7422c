using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.OpenApi;

public sealed class OpenApiDocumentTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private async Task<JsonElement> DocumentAsync()
    {
        using var client = Api.Client();
        using var response = await client.GetAsync("/swagger/v1/swagger.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    [Fact]
    public async Task Swagger_ui_is_served()
    {
        using var client = Api.Client();
        using var response = await client.GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("swagger-ui", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_devices_is_described_with_the_seed_example_bearer_security_and_every_status()
    {
        var document = await DocumentAsync();
        var post = document.GetProperty("paths").GetProperty("/devices").GetProperty("post");

        Assert.Equal("device_create", post.GetProperty("operationId").GetString());
        Assert.Equal(
            ["201", "400", "401", "409", "413", "415", "422", "429", "500", "503"],
            post.GetProperty("responses").EnumerateObject().Select(r => r.Name).Order(StringComparer.Ordinal));
        var example = post.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("example");
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(CreateDeviceTests.SeedBody("loc_641b90b758fb8e6293716e40")).RootElement, example));
        Assert.Equal("bearer", post.GetProperty("security")[0].EnumerateObject().Single().Name);
        var header = post.GetProperty("parameters").EnumerateArray().Single();
        Assert.Equal("Idempotency-Key", header.GetProperty("name").GetString());
        Assert.Equal("header", header.GetProperty("in").GetString());
        Assert.Equal("#/components/schemas/ApiError",
            post.GetProperty("responses").GetProperty("400").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
    }

    [Fact]
    public async Task Schemas_name_fields_as_the_wire_does_and_state_the_rules()
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");

        var request = schemas.GetProperty("CreateDeviceRequest");
        Assert.Equal(
            ["reference_id", "type", "locations", "manufacturer", "model_code", "model_name", "properties"],
            request.GetProperty("properties").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["locations", "reference_id", "type"], request.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["EV_CHARGER", "ELECTRIC_VEHICLE", "BATTERY_SYSTEM", "PV_SYSTEM", "OTHER"],
            request.GetProperty("properties").GetProperty("type").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.False(request.GetProperty("additionalProperties").GetBoolean());
        var tilt = schemas.GetProperty("DeviceProperties").GetProperty("properties").GetProperty("pv_tilt");
        Assert.Equal(0, tilt.GetProperty("minimum").GetDouble());
        Assert.Equal(90, tilt.GetProperty("maximum").GetDouble());
        Assert.Equal(
            ["object", "live_mode", "context", "type", "code", "message", "param", "request_id", "time_created"],
            schemas.GetProperty("ApiError").GetProperty("properties").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task The_document_is_openapi_3_1_with_null_as_a_type_and_a_newcomers_example_of_post_devices()
    {
        var document = await DocumentAsync();

        Assert.StartsWith("3.1.", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var address = schemas.GetProperty("LocationResponse").GetProperty("properties").GetProperty("postal_address");
        Assert.Equal(["#/components/schemas/PostalAddress", null], address.GetProperty("oneOf").EnumerateArray().Select(s => s.TryGetProperty("$ref", out var r) ? r.GetString() : null));
        Assert.Equal("null", address.GetProperty("oneOf")[1].GetProperty("type").GetString());
        Assert.Equal(["null", "string"], schemas.GetProperty("DeviceResponse").GetProperty("properties").GetProperty("manufacturer").GetProperty("type").EnumerateArray().Select(t => t.GetString()).Order(StringComparer.Ordinal));
        Assert.DoesNotContain("nullable", document.GetRawText(), StringComparison.Ordinal);

        var create = document.GetProperty("paths").GetProperty("/devices").GetProperty("post");
        Assert.Contains("Create a location first (POST /locations)", create.GetProperty("description").GetString(), StringComparison.Ordinal);
        var example = create.GetProperty("responses").GetProperty("201").GetProperty("content").GetProperty("application/json").GetProperty("example");
        Assert.False(example.GetProperty("live_mode").GetBoolean());
        Assert.Equal(JsonValueKind.Null, example.GetProperty("last_seen").ValueKind);
    }

    [Fact]
    public async Task Login_uses_basic_security_and_both_schemes_are_declared()
    {
        var document = await DocumentAsync();

        var login = document.GetProperty("paths").GetProperty("/login").GetProperty("get");
        Assert.Equal("basic", login.GetProperty("security")[0].EnumerateObject().Single().Name);
        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("bearer", schemes.GetProperty("bearer").GetProperty("scheme").GetString());
        Assert.Equal("basic", schemes.GetProperty("basic").GetProperty("scheme").GetString());
    }

    [Fact]
    public async Task Every_endpoint_is_described_with_its_parameters_and_error_statuses()
    {
        var paths = (await DocumentAsync()).GetProperty("paths");

        string[] expected =
        [
            "GET /login login 200 400 401 429 503",
            "POST /auth/tokens auth_token_create 200 400 401 413 415 429 503",
            "POST /devices device_create 201 400 401 409 413 415 422 429 500 503",
            "GET /devices device_list 200 400 401 429 500 503",
            "GET /devices/{id} device_get 200 400 401 404 429 500 503",
            "PATCH /devices/{id} device_update 200 400 401 404 413 415 429 500 503",
            "DELETE /devices/{id} device_delete 202 400 401 404 429 500 503",
            "PUT /devices/{id}/state device_state_submit 200 400 401 404 409 413 415 422 429 500 503",
            "GET /devices/{id}/state device_state_get 200 400 401 404 429 500 503",
            "GET /devices/{id}/states device_state_list 200 400 401 404 429 500 503",
            "POST /locations location_create 201 400 401 409 413 415 422 429 500 503",
            "GET /locations location_list 200 400 401 429 500 503",
            "GET /locations/{id} location_get 200 400 401 404 429 500 503",
            "PATCH /locations/{id} location_update 200 400 401 404 413 415 429 500 503",
            "DELETE /locations/{id} location_delete 202 400 401 404 409 429 500 503",
            "POST /customers customer_create 201 400 401 409 413 415 422 429 500 503",
            "GET /customers customer_list 200 400 401 429 500 503",
            "GET /customers/{id} customer_get 200 400 401 404 429 500 503",
            "PATCH /customers/{id} customer_update 202 400 401 404 413 415 429 500 503",
            "DELETE /customers/{id} customer_delete 202 400 401 404 409 429 500 503",
            "GET /events event_list 200 400 401 429 500 503",
            "GET /events/{id} event_get 200 400 401 404 429 500 503",
            "POST /webhooks webhook_create 201 400 401 409 413 415 422 429 500 503",
            "GET /webhooks webhook_list 200 400 401 429 500 503",
            "GET /webhooks/{id} webhook_get 200 400 401 404 429 500 503",
            "PATCH /webhooks/{id} webhook_update 200 400 401 404 413 415 429 500 503",
            "DELETE /webhooks/{id} webhook_delete 202 400 401 404 429 500 503",
            "GET /webhooks/{id}/deliveries webhook_delivery_list 200 400 401 404 429 500 503",
            "POST /webhooks/{id}/deliveries/{delivery_id}/retry webhook_delivery_retry 200 400 401 404 409 429 500 503",
            "GET /jwks.json jwks 200 400",
            "GET /healthz health_live 200 400",
            "GET /readyz health_ready 200 400 503",
        ];
        var actual = paths.EnumerateObject().SelectMany(path => path.Value.EnumerateObject().Select(op =>
            $"{op.Name.ToUpperInvariant()} {path.Name} {op.Value.GetProperty("operationId").GetString()} " +
            string.Join(' ', op.Value.GetProperty("responses").EnumerateObject().Select(r => r.Name).Order(StringComparer.Ordinal))));
        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));

        var listParameters = paths.GetProperty("/devices").GetProperty("get").GetProperty("parameters").EnumerateArray().ToList();
        Assert.Equal(["limit", "starting_after", "ending_before", "reference_id", "location_id"], listParameters.Select(p => p.GetProperty("name").GetString()));
        Assert.Equal(
            ["limit", "starting_after", "ending_before", "reference_id", "customer_id"],
            paths.GetProperty("/locations").GetProperty("get").GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.Equal(
            ["limit", "starting_after", "ending_before", "reference_id"],
            paths.GetProperty("/customers").GetProperty("get").GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        var limit = listParameters[0].GetProperty("schema");
        Assert.Equal("integer", limit.GetProperty("type").GetString());
        Assert.Equal(1, limit.GetProperty("minimum").GetInt32());
        Assert.Equal(100, limit.GetProperty("maximum").GetInt32());
        Assert.Equal(30, limit.GetProperty("default").GetInt32());
        var eventType = paths.GetProperty("/events").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == "type").GetProperty("schema");
        Assert.Equal(Flatpeak.Devices.Api.Events.EventTypes.All, eventType.GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
    }
}
