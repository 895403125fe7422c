using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.OpenApi;

/// <summary>
/// The document's rules are the service's rules: every field of the device's patch schema (which is the create schema
/// with nothing required) is set and, when the document says nullable, cleared through PATCH; its documented limits are
/// accepted and the values just outside them refused.
/// </summary>
public sealed class DocumentedRulesTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private static readonly string[] ServerOwned = ["id", "object", "live_mode", "time_created", "account_id", "last_seen"];

    [Fact]
    public async Task Every_device_field_in_the_document_can_be_set_and_cleared_and_its_limits_are_the_validators()
    {
        using var anonymous = Api.Client();
        using var documentResponse = await anonymous.GetAsync("/swagger/v1/swagger.json");
        var document = await ReadJsonAsync(documentResponse);
        var (_, client) = await SignInAsync();
        var locations = new List<string>();
        for (var i = 0; i < 101; i++)
        {
            locations.Add(await CreateLocationAsync(client));
        }

        var device = await CreateDeviceAsync(client, $$"""{"reference_id":"R","type":"OTHER","locations":["{{locations[0]}}"]}""");
        var id = device.GetProperty("id").GetString()!;
        var schema = Resolve(document, document.GetProperty("components").GetProperty("schemas").GetProperty("UpdateDeviceRequest"));

        var fields = Walk(document, schema, "").ToList();
        // The document describes every writable field of the device, no more, no less.
        Assert.Equal(Leaves(device, "").Where(p => !ServerOwned.Contains(p)).Order(StringComparer.Ordinal), fields.Where(f => f.IsLeaf).Select(f => f.Path).Order(StringComparer.Ordinal));

        foreach (var field in fields)
        {
            foreach (var value in Accepted(field, locations))
            {
                using var response = await PatchAsync(client, id, field.Path, value);
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{field.Path} = {value?.ToJsonString()}: {await response.Content.ReadAsStringAsync()}");
                AssertAt(await ReadJsonAsync(response), field.Path, value);
            }

            foreach (var (value, param) in Refused(field, locations))
            {
                using var response = await PatchAsync(client, id, field.Path, value);
                await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_update", Code(param), param);
            }

            using var clear = await PatchAsync(client, id, field.Path, null);
            if (field.Nullable)
            {
                Assert.True(clear.StatusCode == HttpStatusCode.OK, $"clearing {field.Path}: {await clear.Content.ReadAsStringAsync()}");
                var cleared = await ReadJsonAsync(clear);
                var at = At(cleared, field.Path);
                Assert.True(at.ValueKind == JsonValueKind.Null || (field.IsLeaf is false && at.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.Null)), $"{field.Path} was not cleared");
            }
            else
            {
                await AssertErrorAsync(clear, HttpStatusCode.BadRequest, "api.device_update", Code(field.Path), field.Path);
            }
        }
    }

    private sealed record Field(string Path, JsonElement Schema, bool Nullable, bool IsLeaf);

    private static IEnumerable<Field> Walk(JsonElement document, JsonElement schema, string prefix)
    {
        foreach (var property in schema.GetProperty("properties").EnumerateObject())
        {
            var path = prefix.Length == 0 ? property.Name : $"{prefix}.{property.Name}";
            var nullable = AllowsNull(property.Value);
            var resolved = Resolve(document, property.Value);
            if (TypeOf(resolved) == "object")
            {
                yield return new Field(path, resolved, nullable, IsLeaf: false);
                foreach (var nested in Walk(document, resolved, path))
                {
                    yield return nested;
                }
            }
            else
            {
                yield return new Field(path, resolved, nullable, IsLeaf: true);
            }
        }
    }

    private static IEnumerable<JsonNode?> Accepted(Field field, List<string> locations)
    {
        var schema = field.Schema;
        switch (TypeOf(schema))
        {
            case "object":
                yield return new JsonObject();
                break;
            case "string" when schema.TryGetProperty("enum", out var values):
                foreach (var value in values.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String))
                {
                    yield return JsonValue.Create(value.GetString());
                }

                break;
            case "string" when schema.TryGetProperty("format", out var format) && format.GetString() == "date-time":
                yield return JsonValue.Create("2024-01-02T03:04:05Z");
                break;
            case "string":
                yield return JsonValue.Create(new string('a', schema.GetProperty("minLength").GetInt32()));
                yield return JsonValue.Create(new string('b', schema.GetProperty("maxLength").GetInt32()));
                break;
            case "number":
                yield return JsonValue.Create(schema.GetProperty("minimum").GetDouble());
                if (schema.TryGetProperty("maximum", out var maximum))
                {
                    yield return JsonValue.Create(maximum.GetDouble());
                }

                break;
            case "boolean":
                yield return JsonValue.Create(true);
                yield return JsonValue.Create(false);
                break;
            case "array":
                yield return Ids(locations, schema.GetProperty("minItems").GetInt32());
                yield return Ids(locations, schema.GetProperty("maxItems").GetInt32());
                break;
            default:
                Assert.Fail($"{field.Path}: no accepted values for this schema");
                break;
        }
    }

    private static IEnumerable<(JsonNode? Value, string Param)> Refused(Field field, List<string> locations)
    {
        var schema = field.Schema;
        switch (TypeOf(schema))
        {
            case "object":
                yield return (JsonValue.Create("text"), field.Path);
                break;
            case "string" when schema.TryGetProperty("enum", out var values):
                yield return (JsonValue.Create("NOT_" + values[0].GetString()), field.Path);
                break;
            case "string" when schema.TryGetProperty("format", out var format) && format.GetString() == "date-time":
                yield return (JsonValue.Create("yesterday"), field.Path);
                break;
            case "string":
                yield return (JsonValue.Create(new string('a', schema.GetProperty("minLength").GetInt32() - 1)), field.Path);
                yield return (JsonValue.Create(new string('b', schema.GetProperty("maxLength").GetInt32() + 1)), field.Path);
                break;
            case "number":
                yield return (JsonValue.Create(schema.GetProperty("minimum").GetDouble() - 0.001), field.Path);
                if (schema.TryGetProperty("maximum", out var maximum))
                {
                    yield return (JsonValue.Create(maximum.GetDouble() + 0.001), field.Path);
                }

                yield return (JsonValue.Create("1"), field.Path);
                break;
            case "boolean":
                yield return (JsonValue.Create("yes"), field.Path);
                break;
            case "array":
                yield return (Ids(locations, schema.GetProperty("minItems").GetInt32() - 1), field.Path);
                yield return (Ids(locations, schema.GetProperty("maxItems").GetInt32() + 1), field.Path);
                yield return (new JsonArray("not-an-id"), $"{field.Path}[0]");
                break;
            default:
                Assert.Fail($"{field.Path}: no refused values for this schema");
                break;
        }
    }

    private static JsonArray Ids(List<string> locations, int count) => [.. locations.Take(count).Select(l => (JsonNode)JsonValue.Create(l))];

    /// <summary>"properties.pv_tilt" → pv_tilt_invalid; "locations[0]" → locations_invalid.</summary>
    private static string Code(string param)
    {
        var leaf = param[(param.LastIndexOf('.') + 1)..];
        var bracket = leaf.IndexOf('[', StringComparison.Ordinal);
        return (bracket < 0 ? leaf : leaf[..bracket]) + "_invalid";
    }

    private static Task<HttpResponseMessage> PatchAsync(HttpClient client, string id, string path, JsonNode? value)
    {
        var body = new JsonObject();
        var node = body;
        var segments = path.Split('.');
        foreach (var segment in segments[..^1])
        {
            var child = new JsonObject();
            node[segment] = child;
            node = child;
        }

        node[segments[^1]] = value?.DeepClone();
        return client.PatchAsync($"/devices/{id}", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
    }

    private static void AssertAt(JsonElement device, string path, JsonNode? expected)
    {
        var actual = At(device, path);
        switch (expected)
        {
            case JsonObject:
                Assert.Equal(JsonValueKind.Object, actual.ValueKind);
                break;
            case JsonValue number when number.GetValueKind() == JsonValueKind.Number:
                Assert.Equal(number.GetValue<double>(), actual.GetDouble());
                break;
            default:
                Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(expected!.ToJsonString()).RootElement, actual), $"{path}: {actual} is not {expected!.ToJsonString()}");
                break;
        }
    }

    private static JsonElement At(JsonElement value, string path)
    {
        foreach (var segment in path.Split('.'))
        {
            value = value.GetProperty(segment);
        }

        return value;
    }

    private static IEnumerable<string> Leaves(JsonElement value, string prefix) =>
        value.EnumerateObject().SelectMany(p =>
        {
            var path = prefix.Length == 0 ? p.Name : $"{prefix}.{p.Name}";
            return p.Value.ValueKind == JsonValueKind.Object ? Leaves(p.Value, path) : [path];
        });

    /// <summary>The schema's type other than null: OpenAPI 3.1 writes a nullable one as <c>["null", "string"]</c>.</summary>
    private static string? TypeOf(JsonElement schema) =>
        !schema.TryGetProperty("type", out var type) ? null
        : type.ValueKind == JsonValueKind.String ? type.GetString()
        : type.EnumerateArray().Select(t => t.GetString()).Single(t => t != "null");

    /// <summary>Whether null is allowed: a type list with null, or one of a reference and null.</summary>
    private static bool AllowsNull(JsonElement schema) =>
        (schema.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.Array && type.EnumerateArray().Any(t => t.GetString() == "null"))
        || (schema.TryGetProperty("oneOf", out var one) && one.EnumerateArray().Any(s => s.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "null"));

    private static JsonElement Resolve(JsonElement document, JsonElement schema)
    {
        if (schema.TryGetProperty("oneOf", out var one) && one.EnumerateArray().Count(s => s.TryGetProperty("$ref", out _)) == 1)
        {
            schema = one.EnumerateArray().Single(s => s.TryGetProperty("$ref", out _));
        }

        if (!schema.TryGetProperty("$ref", out var reference))
        {
            return schema;
        }

        var node = document;
        foreach (var part in reference.GetString()!.TrimStart('#', '/').Split('/'))
        {
            node = node.GetProperty(part);
        }

        return node;
    }
}
