using System.Text.Json;
using Flatpeak.Devices.Tests.OpenApi;

namespace Flatpeak.Devices.Tests.Unit;

/// <summary>The validator the document tests rely on must itself catch what it claims to.</summary>
public sealed class OpenApiSchemaValidatorTests
{
    private static readonly JsonElement Document = JsonDocument.Parse("""
        {"openapi":"3.1.2","components":{"schemas":{
          "Thing":{"type":"object","properties":{
            "id":{"type":"string","pattern":"^dev_[0-9a-f]{24}$"},
            "kind":{"type":"string","enum":["A","B"]},
            "at":{"type":["null","string"],"format":"date-time"},
            "tilt":{"type":"number","minimum":0,"maximum":90},
            "tags":{"type":"array","items":{"type":"string"}},
            "part":{"oneOf":[{"$ref":"#/components/schemas/Part"},{"type":"null"}]}}},
          "Part":{"type":"object","properties":{"name":{"type":["null","string"]}}}}}}
        """).RootElement;

    private static readonly JsonElement Schema = JsonDocument.Parse("""{"$ref":"#/components/schemas/Thing"}""").RootElement;

    [Theory]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","at":null,"tilt":23,"tags":["x"],"part":null}""")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"B","at":"2024-01-02T03:04:05Z","tilt":0,"tags":[],"part":{"name":null}}""")]
    public void A_matching_value_has_no_errors(string json) => Assert.Empty(Validate(json));

    [Theory]
    [InlineData("""{"id":"dev_1","kind":"A","at":null,"tilt":23,"tags":[],"part":null}""", "pattern")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"C","at":null,"tilt":23,"tags":[],"part":null}""", "enum")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","at":"yesterday","tilt":23,"tags":[],"part":null}""", "format")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","at":null,"tilt":91,"tags":[],"part":null}""", "maximum")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":null,"at":null,"tilt":1,"tags":[],"part":null}""", "type")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","at":null,"tilt":1,"tags":[1],"part":null}""", "type")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","at":null,"tilt":1,"tags":[],"part":{"name":1}}""", "type")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","at":null,"tilt":1,"tags":[],"part":null,"extra":1}""", "additionalProperties")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","tilt":1,"tags":[],"part":null}""", "required")]
    public void A_mismatch_is_reported(string json, string keyword) =>
        Assert.Contains(Validate(json), e => e.Contains(keyword, StringComparison.Ordinal));

    private static IReadOnlyList<string> Validate(string json) =>
        OpenApiSchemaValidator.Validate(JsonDocument.Parse(json).RootElement, Schema, Document);
}
