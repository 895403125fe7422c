using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flatpeak.Devices.Api.Common.Json;

/// <summary>
/// Numbers as the API takes them: a value too large for a double is refused (the serializer's own rule), and so is one
/// too small to be told from zero (<c>1e-400</c>), rather than silently becoming 0; <c>-0</c> is 0.
/// </summary>
public sealed class StrictDoubleConverter : JsonConverter<double>
{
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var value) || !double.IsFinite(value))
        {
            throw new JsonException("Expected a number a double can hold.");
        }

        if (value == 0)
        {
            // Zero written as zero (0, -0, 0.0, 0e5…) is zero; any other digit means the value underflowed.
            var digits = reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan.ToArray();
            foreach (var b in digits)
            {
                if (b is (byte)'e' or (byte)'E')
                {
                    break;
                }

                if (b is >= (byte)'1' and <= (byte)'9')
                {
                    throw new JsonException("The number is too small to be told from zero.");
                }
            }

            return 0;
        }

        return value;
    }

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) =>
        writer.WriteNumberValue(value == 0 ? 0 : value);
}
