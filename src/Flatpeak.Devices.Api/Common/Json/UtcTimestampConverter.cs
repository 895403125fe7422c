using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Flatpeak.Devices.Api.Common.Json;

/// <summary>
/// Reads only RFC 3339 date-times (an explicit offset is required, so nothing depends on the server's
/// time zone) and writes them in UTC as <c>yyyy-MM-ddTHH:mm:ssZ</c>, with a fraction only when there is one.
/// </summary>
public sealed partial class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    private const string WriteFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'";

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String || reader.ValueSpan.Length > 40)
        {
            throw new JsonException("Expected an RFC 3339 date-time string.");
        }

        return TryParse(reader.GetString()!, out var value) ? value : throw new JsonException("Expected an RFC 3339 date-time string.");
    }

    /// <summary>An RFC 3339 date-time (with its offset), in UTC: as a body's field or a query parameter must be.</summary>
    public static bool TryParse(string text, out DateTimeOffset value)
    {
        value = default;
        if (text.Length > 40 || !Rfc3339().IsMatch(text) ||
            !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed))
        {
            return false;
        }

        value = parsed.ToUniversalTime();
        return true;
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString(WriteFormat, CultureInfo.InvariantCulture));

    // Up to six fraction digits: PostgreSQL keeps microseconds, so nothing read is silently rounded.
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();
}
