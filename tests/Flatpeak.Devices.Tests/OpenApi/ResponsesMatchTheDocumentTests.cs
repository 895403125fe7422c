using System.Net;
using System.Text;
using System.Text.Json;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.OpenApi;

/// <summary>Real responses of every endpoint, success and failure, checked against the schemas the served document declares.</summary>
public sealed class ResponsesMatchTheDocumentTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Every_response_matches_the_schema_declared_for_its_operation_and_status()
    {
        using var anonymous = Api.Client();
        using var documentResponse = await anonymous.GetAsync("/swagger/v1/swagger.json");
        var document = await ReadJsonAsync(documentResponse);
        var account = await CreateAccountAsync();
        var checkedResponses = new List<string>();

        async Task<JsonElement> Check(string method, string template, HttpResponseMessage response)
        {
            var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var operation = document.GetProperty("paths").GetProperty(template).GetProperty(method.ToLowerInvariant());
            Assert.True(operation.GetProperty("responses").TryGetProperty(status, out var declared), $"{method} {template} answered {status}, which the document does not declare");
            var schema = declared.GetProperty("content").GetProperty("application/json").GetProperty("schema");
            var body = await ReadJsonAsync(response);
            var errors = OpenApiSchemaValidator.Validate(body, schema, document);
            Assert.True(errors.Count == 0, $"{method} {template} {status}:\n{string.Join('\n', errors)}");
            checkedResponses.Add($"{method} {template} {status}");
            return body;
        }

        using var badLogin = new HttpRequestMessage(HttpMethod.Get, "/login");
        await Check("GET", "/login", await anonymous.SendAsync(badLogin));
        using var login = new HttpRequestMessage(HttpMethod.Get, "/login");
        login.Headers.Authorization = ApiFixture.BasicAuth(account.AccountId, account.TestKey);
        var token = (await Check("GET", "/login", await anonymous.SendAsync(login))).GetProperty("bearer_token").GetString()!;
        using var client = Api.Client(token);
        using var badTokens = new HttpRequestMessage(HttpMethod.Post, "/auth/tokens");
        await Check("POST", "/auth/tokens", await anonymous.SendAsync(badTokens));
        using var tokens = new HttpRequestMessage(HttpMethod.Post, "/auth/tokens");
        tokens.Headers.Authorization = ApiFixture.BasicAuth(account.AccountId, account.TestKey);
        await Check("POST", "/auth/tokens", await anonymous.SendAsync(tokens));

        await Check("POST", "/devices", await anonymous.PostAsync("/devices", Json("{}")));
        await Check("GET", "/healthz", await anonymous.GetAsync("/healthz"));
        await Check("GET", "/readyz", await anonymous.GetAsync("/readyz"));

        var location = await Check("POST", "/locations", await client.PostAsync("/locations", Json("""{"reference_id":"HOME-1","postal_address":{"city":"London","country_code":"GB"}}""")));
        var locationId = location.GetProperty("id").GetString()!;
        await Check("POST", "/locations", await client.PostAsync("/locations", Json("""{"postal_address":{"country_code":"XX"}}""")));
        // Every optional object left out: it comes back null, which the document must allow.
        var bare = await Check("POST", "/locations", await client.PostAsync("/locations", Json("{}")));
        Assert.Equal(JsonValueKind.Null, bare.GetProperty("postal_address").ValueKind);
        await Check("GET", "/locations/{id}", await client.GetAsync($"/locations/{bare.GetProperty("id").GetString()}"));
        await Check("POST", "/devices", await client.PostAsync("/devices", Json(CreateDeviceTests.SeedBody(locationId))));
        var device = await Check("POST", "/devices", await client.PostAsync("/devices", Json($$"""{"reference_id":"R","type":"OTHER","locations":["{{locationId}}"]}""")));
        var deviceId = device.GetProperty("id").GetString()!;
        await Check("POST", "/devices", await client.PostAsync("/devices", Json("{\"id\":1}")));
        await Check("POST", "/devices", await client.PostAsync("/devices", new StringContent("x", Encoding.UTF8, "text/plain")));
        await Check("POST", "/devices", await client.PostAsync("/devices", Json(CreateDeviceTests.SeedBody(locationId).Replace("Nova Systems", new string('n', 70_000), StringComparison.Ordinal))));

        using var first = new HttpRequestMessage(HttpMethod.Post, "/devices") { Content = Json(CreateDeviceTests.SeedBody(locationId)) };
        first.Headers.Add("Idempotency-Key", "k1");
        await Check("POST", "/devices", await client.SendAsync(first));
        using var reused = new HttpRequestMessage(HttpMethod.Post, "/devices") { Content = Json(CreateDeviceTests.SeedBody(locationId).Replace("Pico", "Nano", StringComparison.Ordinal)) };
        reused.Headers.Add("Idempotency-Key", "k1");
        await Check("POST", "/devices", await client.SendAsync(reused));

        await Check("GET", "/locations/{id}", await client.GetAsync($"/locations/{locationId}"));
        await Check("GET", "/locations/{id}", await client.GetAsync("/locations/loc_000000000000000000000000"));
        await Check("GET", "/locations", await client.GetAsync("/locations"));
        await Check("GET", "/locations", await client.GetAsync("/locations?limit=0"));
        await Check("GET", "/devices/{id}", await client.GetAsync($"/devices/{deviceId}"));
        await Check("GET", "/devices/{id}", await client.GetAsync("/devices/dev_000000000000000000000000"));
        await Check("GET", "/devices", await client.GetAsync($"/devices?location_id={locationId}"));
        await Check("GET", "/devices", await client.GetAsync("/devices?limit=abc"));
        await Check("PATCH", "/devices/{id}", await client.PatchAsync($"/devices/{deviceId}", Json("""{"manufacturer":"Acme","properties":{"pv_tilt":10}}""")));
        await Check("PATCH", "/devices/{id}", await client.PatchAsync($"/devices/{deviceId}", Json("""{"type":null}""")));
        await Check("PATCH", "/devices/{id}", await client.PatchAsync("/devices/dev_000000000000000000000000", Json("{}")));
        var state = $$"""{"time":"{{DateTimeOffset.UtcNow.AddMinutes(-1).UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}}","state_of_charge_percent":50,"target_state_of_charge_percent":80,"record_reference_id":"R-1"}""";
        await Check("GET", "/devices/{id}/state", await client.GetAsync($"/devices/{deviceId}/state"));
        await Check("PUT", "/devices/{id}/state", await client.PutAsync($"/devices/{deviceId}/state", Json(state)));
        await Check("PUT", "/devices/{id}/state", await client.PutAsync($"/devices/{deviceId}/state", Json(state.Replace("50", "51", StringComparison.Ordinal))));
        await Check("PUT", "/devices/{id}/state", await client.PutAsync($"/devices/{deviceId}/state", Json("{}")));
        await Check("PUT", "/devices/{id}/state", await client.PutAsync("/devices/dev_000000000000000000000000/state", Json(state)));
        await Check("GET", "/devices/{id}/state", await client.GetAsync($"/devices/{deviceId}/state"));
        await Check("GET", "/devices/{id}/states", await client.GetAsync($"/devices/{deviceId}/states"));
        await Check("GET", "/devices/{id}/states", await client.GetAsync($"/devices/{deviceId}/states?time_from=yesterday"));
        await Check("GET", "/devices/{id}/states", await client.GetAsync("/devices/dev_000000000000000000000000/states"));
        var events = await Check("GET", "/events", await client.GetAsync("/events"));
        await Check("GET", "/events/{id}", await client.GetAsync($"/events/{events.GetProperty("data")[0].GetProperty("id").GetString()}"));
        await Check("GET", "/events/{id}", await client.GetAsync("/events/evt_000000000000000000000000"));
        await Check("GET", "/events", await client.GetAsync("/events?type=device.boom"));
        await Check("DELETE", "/locations/{id}", await client.DeleteAsync($"/locations/{locationId}"));
        await Check("DELETE", "/devices/{id}", await client.DeleteAsync($"/devices/{deviceId}"));
        await Check("DELETE", "/devices/{id}", await client.DeleteAsync($"/devices/{deviceId}"));

        var customer = await Check("POST", "/customers", await client.PostAsync("/customers", Json("""{"reference_id":"CUS-1"}""")));
        var customerId = customer.GetProperty("id").GetString()!;
        var emptyCustomer = await Check("POST", "/customers", await client.PostAsync("/customers", Json("{}")));
        Assert.Equal(JsonValueKind.Null, emptyCustomer.GetProperty("reference_id").ValueKind);
        await Check("POST", "/customers", await client.PostAsync("/customers", Json("""{"reference_id":""}""")));
        var home = (await Check("POST", "/locations", await client.PostAsync("/locations", Json("{}")))).GetProperty("id").GetString()!;
        await Check("PATCH", "/locations/{id}", await client.PatchAsync($"/locations/{home}", Json($$$"""{"customer_id":"{{{customerId}}}","postal_address":{"city":"Leeds"}}""")));
        await Check("PATCH", "/locations/{id}", await client.PatchAsync($"/locations/{locationId}", Json("""{"customer_id":"cus_000000000000000000000000"}""")));
        await Check("PATCH", "/locations/{id}", await client.PatchAsync("/locations/loc_000000000000000000000000", Json("{}")));
        await Check("GET", "/locations", await client.GetAsync($"/locations?customer_id={customerId}"));
        await Check("GET", "/customers/{id}", await client.GetAsync($"/customers/{customerId}"));
        await Check("GET", "/customers/{id}", await client.GetAsync("/customers/cus_000000000000000000000000"));
        await Check("GET", "/customers", await client.GetAsync("/customers?reference_id=CUS-1"));
        await Check("GET", "/customers", await client.GetAsync("/customers?limit=101"));
        await Check("PATCH", "/customers/{id}", await client.PatchAsync($"/customers/{customerId}", Json("""{"reference_id":null}""")));
        await Check("PATCH", "/customers/{id}", await client.PatchAsync($"/customers/{customerId}", Json("""{"reference_id":5}""")));
        await Check("PATCH", "/customers/{id}", await client.PatchAsync("/customers/cus_000000000000000000000000", Json("{}")));
        await Check("DELETE", "/customers/{id}", await client.DeleteAsync($"/customers/{customerId}"));
        await Check("DELETE", "/locations/{id}", await client.DeleteAsync($"/locations/{home}"));
        await Check("DELETE", "/locations/{id}", await client.DeleteAsync($"/locations/{home}"));
        await Check("DELETE", "/customers/{id}", await client.DeleteAsync($"/customers/{customerId}"));
        await Check("DELETE", "/customers/{id}", await client.DeleteAsync($"/customers/{customerId}"));
        var webhook = await Check("POST", "/webhooks", await client.PostAsync("/webhooks", Json("""{"url":"http://127.0.0.1:9/hook","enabled_events":["location.create"],"description":"Ops"}""")));
        var webhookId = webhook.GetProperty("id").GetString()!;
        await Check("POST", "/webhooks", await client.PostAsync("/webhooks", Json("""{"url":"ftp://x","enabled_events":["*"]}""")));
        await Check("GET", "/webhooks", await client.GetAsync("/webhooks"));
        await Check("GET", "/webhooks/{id}", await client.GetAsync($"/webhooks/{webhookId}"));
        await Check("GET", "/webhooks/{id}", await client.GetAsync("/webhooks/whe_000000000000000000000000"));
        await Check("PATCH", "/webhooks/{id}", await client.PatchAsync($"/webhooks/{webhookId}", Json("""{"description":null}""")));
        await Check("PATCH", "/webhooks/{id}", await client.PatchAsync($"/webhooks/{webhookId}", Json("""{"status":"off"}""")));
        await Check("POST", "/locations", await client.PostAsync("/locations", Json("{}")));
        await Wait.UntilAsync(
            async () => (await ReadJsonAsync(await client.GetAsync($"/webhooks/{webhookId}/deliveries"))).GetProperty("data").GetArrayLength() > 0,
            TimeSpan.FromSeconds(30), "a delivery");
        var deliveries = await Check("GET", "/webhooks/{id}/deliveries", await client.GetAsync($"/webhooks/{webhookId}/deliveries"));
        await Check("GET", "/webhooks/{id}/deliveries", await client.GetAsync("/webhooks/whe_000000000000000000000000/deliveries"));
        var deliveryId = deliveries.GetProperty("data")[0].GetProperty("id").GetString();
        // Refused (409) while an attempt is in flight: try between attempts.
        await Wait.UntilAsync(
            async () => (await Check("POST", "/webhooks/{id}/deliveries/{delivery_id}/retry", await client.PostAsync($"/webhooks/{webhookId}/deliveries/{deliveryId}/retry", null))).GetProperty("object").GetString() == "webhook_delivery",
            TimeSpan.FromSeconds(30), "a retry between attempts");
        await Check("POST", "/webhooks/{id}/deliveries/{delivery_id}/retry", await client.PostAsync($"/webhooks/{webhookId}/deliveries/whd_000000000000000000000000/retry", null));
        await Check("GET", "/jwks.json", await anonymous.GetAsync("/jwks.json"));
        await Check("DELETE", "/webhooks/{id}", await client.DeleteAsync($"/webhooks/{webhookId}"));
        await Check("DELETE", "/webhooks/{id}", await client.DeleteAsync($"/webhooks/{webhookId}"));
        var allEvents = await Check("GET", "/events", await client.GetAsync("/events?limit=100"));
        Assert.Equal(
            ["customer.create", "customer.delete", "customer.update", "device.create", "device.delete", "device.update", "location.create", "location.delete", "location.update"],
            allEvents.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("type").GetString()).Distinct().Order(StringComparer.Ordinal));

        // Every operation of the document was exercised at least once.
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(o => $"{o.Name.ToUpperInvariant()} {p.Name}"));
        Assert.All(operations, operation => Assert.Contains(checkedResponses, c => c.StartsWith(operation + " ", StringComparison.Ordinal)));
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
