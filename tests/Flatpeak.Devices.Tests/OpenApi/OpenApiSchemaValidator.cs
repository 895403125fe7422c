using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Flatpeak.Devices.Tests.OpenApi;

/// <summary>
/// Checks a JSON value against a schema of an OpenAPI 3.1 document with a JSON Schema 2020-12 validator (JsonSchema.Net):
/// the document's component schemas become the <c>$defs</c> of one schema. Stricter than the document in one way, on
/// purpose: every object declared in it must carry every declared property and no other (the service always sends
/// every field, null when it has no value).
/// </summary>
public static class OpenApiSchemaValidator
{
    private static readonly EvaluationOptions Options = new() { OutputFormat = OutputFormat.List, RequireFormatValidation = true };

    public static IReadOnlyList<string> Validate(JsonElement value, JsonElement schema, JsonElement document)
    {
        var definitions = JsonNode.Parse(document.GetProperty("components").GetProperty("schemas").GetRawText())!.AsObject();
        foreach (var (_, definition) in definitions)
        {
            if (definition is JsonObject { } declared && declared["properties"] is JsonObject properties)
            {
                declared["required"] = new JsonArray([.. properties.Select(p => (JsonNode)JsonValue.Create(p.Key))]);
                declared["additionalProperties"] = false;
            }
        }

        var root = JsonNode.Parse(schema.GetRawText())!.AsObject();
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema";
        root["$defs"] = definitions;
        var text = root.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
        var results = JsonSchema.FromText(text).Evaluate(value, Options);
        return results.IsValid
            ? []
            : [.. (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}) {e.Key}: {e.Value}"))];
    }
}
