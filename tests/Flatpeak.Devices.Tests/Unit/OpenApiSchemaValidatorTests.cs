using System.Text.Json;
using Flatpeak.Devices.Tests.OpenApi;

namespace Flatpeak.Devices.Tests.Unit;

/// <summary>The validator the document tests rely on must itself catch what it claims to.</summary>
public sealed class OpenApiSchemaValidatorTests
{
    private static readonly JsonElement Document = JsonDocument.Parse("""
        {"components":{"schemas":{"Thing":{"type":"object","additionalProperties":false,"required":["id"],"properties":{
          "id":{"type":"string","pattern":"^dev_[0-9a-f]{24}$"},
          "kind":{"type":"string","enum":["A","B"]},
          "at":{"type":"string","format":"date-time","nullable":true},
          "tilt":{"type":"number","minimum":0,"maximum":90},
          "tags":{"type":"array","items":{"type":"string"}}}}}}}
        """).RootElement;

    private static readonly JsonElement Schema = JsonDocument.Parse("""{"$ref":"#/components/schemas/Thing"}""").RootElement;

    [Fact]
    public void A_matching_value_has_no_errors() =>
        Assert.Empty(Validate("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","at":null,"tilt":23,"tags":["x"]}"""));

    [Theory]
    [InlineData("""{"id":"dev_1","kind":"A","at":null,"tilt":23,"tags":[]}""", "does not match")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"C","at":null,"tilt":23,"tags":[]}""", "not in the enum")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","at":"yesterday","tilt":23,"tags":[]}""", "not a date-time")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","at":null,"tilt":91,"tags":[]}""", "maximum")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":null,"at":null,"tilt":1,"tags":[]}""", "not nullable")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","at":null,"tilt":1,"tags":[1]}""", "expected String")]
    [InlineData("""{"kind":"A","at":null,"tilt":1,"tags":[]}""", "required")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","at":null,"tilt":1,"tags":[],"extra":1}""", "not in the schema")]
    [InlineData("""{"id":"dev_63a6087272941ef077a8fd3e","kind":"A","tilt":1,"tags":[]}""", "not sent")]
    public void A_mismatch_is_reported(string json, string expected) =>
        Assert.Contains(Validate(json), e => e.Contains(expected, StringComparison.Ordinal));

    private static IReadOnlyList<string> Validate(string json) =>
        OpenApiSchemaValidator.Validate(JsonDocument.Parse(json).RootElement, Schema, Document);
}
