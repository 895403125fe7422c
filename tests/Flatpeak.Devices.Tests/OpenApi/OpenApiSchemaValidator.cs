using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Flatpeak.Devices.Tests.OpenApi;

/// <summary>
/// Checks a JSON value against an OpenAPI 3.0 schema of the kinds this document uses ($ref, oneOf, allOf, type, nullable, enum,
/// pattern, format, lengths, ranges, required, properties, additionalProperties, items). Stricter than the
/// standard in one way, on purpose: every property on the wire must be declared, and every declared one sent.
/// </summary>
public static class OpenApiSchemaValidator
{
    public static IReadOnlyList<string> Validate(JsonElement value, JsonElement schema, JsonElement document)
    {
        var errors = new List<string>();
        Check(value, schema, document, "$", errors);
        return errors;
    }

    private static void Check(JsonElement value, JsonElement schema, JsonElement document, string path, List<string> errors)
    {
        if (schema.TryGetProperty("$ref", out var reference))
        {
            schema = Resolve(document, reference.GetString()!);
        }

        if (schema.TryGetProperty("oneOf", out var alternatives))
        {
            var matches = alternatives.EnumerateArray().Count(alternative => Validate(value, alternative, document).Count == 0);
            if (matches != 1)
            {
                errors.Add($"{path}: matches {matches} of the oneOf schemas, not exactly one");
            }

            return;
        }

        if (value.ValueKind == JsonValueKind.Null)
        {
            if (!(schema.TryGetProperty("nullable", out var nullable) && nullable.GetBoolean()))
            {
                errors.Add($"{path}: null, but the schema is not nullable");
            }

            return;
        }

        if (schema.TryGetProperty("allOf", out var all))
        {
            // A nullable reference: { "type": "object", "allOf": [ { "$ref": … } ], "nullable": true }.
            foreach (var part in all.EnumerateArray())
            {
                Check(value, part, document, path, errors);
            }

            return;
        }

        var type = schema.TryGetProperty("type", out var t) ? t.GetString() : null;
        switch (type)
        {
            case "object":
                Expect(value, JsonValueKind.Object, path, errors);
                if (value.ValueKind == JsonValueKind.Object)
                {
                    CheckObject(value, schema, document, path, errors);
                }

                break;
            case "array":
                Expect(value, JsonValueKind.Array, path, errors);
                if (value.ValueKind == JsonValueKind.Array)
                {
                    var i = 0;
                    foreach (var item in value.EnumerateArray())
                    {
                        Check(item, schema.GetProperty("items"), document, $"{path}[{i++}]", errors);
                    }
                }

                break;
            case "string":
                Expect(value, JsonValueKind.String, path, errors);
                if (value.ValueKind == JsonValueKind.String)
                {
                    CheckString(value.GetString()!, schema, path, errors);
                }

                break;
            case "number" or "integer":
                Expect(value, JsonValueKind.Number, path, errors);
                if (value.ValueKind == JsonValueKind.Number)
                {
                    var number = value.GetDouble();
                    if (type == "integer" && number != Math.Floor(number))
                    {
                        errors.Add($"{path}: {number} is not an integer");
                    }

                    if (schema.TryGetProperty("minimum", out var min) && number < min.GetDouble())
                    {
                        errors.Add($"{path}: {number} < minimum {min}");
                    }

                    if (schema.TryGetProperty("maximum", out var max) && number > max.GetDouble())
                    {
                        errors.Add($"{path}: {number} > maximum {max}");
                    }
                }

                break;
            case "boolean":
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    errors.Add($"{path}: expected a boolean, got {value.ValueKind}");
                }

                break;
            default:
                errors.Add($"{path}: the schema gives no type");
                break;
        }
    }

    private static void CheckObject(JsonElement value, JsonElement schema, JsonElement document, string path, List<string> errors)
    {
        var declared = schema.TryGetProperty("properties", out var properties)
            ? properties.EnumerateObject().ToDictionary(p => p.Name, p => p.Value)
            : [];
        foreach (var property in value.EnumerateObject())
        {
            if (declared.TryGetValue(property.Name, out var propertySchema))
            {
                Check(property.Value, propertySchema, document, $"{path}.{property.Name}", errors);
            }
            else
            {
                errors.Add($"{path}.{property.Name}: sent, but not in the schema");
            }
        }

        foreach (var name in declared.Keys.Where(name => !value.TryGetProperty(name, out _)))
        {
            errors.Add($"{path}.{name}: in the schema, but not sent");
        }

        if (schema.TryGetProperty("required", out var required))
        {
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()!).Where(name => !value.TryGetProperty(name, out _)))
            {
                errors.Add($"{path}.{name}: required, but missing");
            }
        }
    }

    private static void CheckString(string text, JsonElement schema, string path, List<string> errors)
    {
        if (schema.TryGetProperty("enum", out var values) && !values.EnumerateArray().Any(v => v.GetString() == text))
        {
            errors.Add($"{path}: '{text}' is not in the enum");
        }

        if (schema.TryGetProperty("pattern", out var pattern) && !Regex.IsMatch(text, pattern.GetString()!, RegexOptions.None, TimeSpan.FromSeconds(1)))
        {
            errors.Add($"{path}: '{text}' does not match {pattern}");
        }

        if (schema.TryGetProperty("format", out var format) && format.GetString() == "date-time" &&
            !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _))
        {
            errors.Add($"{path}: '{text}' is not a date-time");
        }

        if (schema.TryGetProperty("minLength", out var minLength) && text.Length < minLength.GetInt32())
        {
            errors.Add($"{path}: shorter than {minLength}");
        }

        if (schema.TryGetProperty("maxLength", out var maxLength) && text.Length > maxLength.GetInt32())
        {
            errors.Add($"{path}: longer than {maxLength}");
        }
    }

    private static void Expect(JsonElement value, JsonValueKind kind, string path, List<string> errors)
    {
        if (value.ValueKind != kind)
        {
            errors.Add($"{path}: expected {kind}, got {value.ValueKind}");
        }
    }

    private static JsonElement Resolve(JsonElement document, string reference)
    {
        var node = document;
        foreach (var part in reference.TrimStart('#', '/').Split('/'))
        {
            node = node.GetProperty(part);
        }

        return node;
    }
}
