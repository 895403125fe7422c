using System.Text.Json;
using System.Text.RegularExpressions;

namespace Flatpeak.Devices.Api.Common.Json;

/// <summary>Describes why System.Text.Json refused a request body, in the API's terms: a code and the offending <c>param</c>.</summary>
public static partial class JsonErrors
{
    public static (string Code, string Message, string? Param) Describe(JsonException error, JsonSerializerOptions options)
    {
        var path = ParamOf(error.Path);

        // The reader's own exception type is internal; its name is the one stable sign of a syntax error.
        if (error.GetType().Name == "JsonReaderException")
        {
            return ("body_invalid", $"The request body is not valid JSON (line {error.LineNumber + 1}, byte {error.BytePositionInLine + 1}).", null);
        }

        if (error.Message.StartsWith("The maximum configured depth", StringComparison.Ordinal) || error.Message.Contains("depth of", StringComparison.Ordinal))
        {
            return ("body_invalid", $"The request body is nested deeper than {options.MaxDepth} levels.", null);
        }

        var unmapped = UnmappedProperty().Match(error.Message);
        if (unmapped.Success)
        {
            var name = unmapped.Groups["name"].Value;
            var param = Shorten(Join(ParentOf(path, name), name));
            return ("parameter_unknown", $"Received unknown parameter: {param}. Fields the server sets (id, object, account_id, live_mode, time_created) cannot be sent.", param);
        }

        var duplicate = DuplicateProperty().Match(error.Message);
        if (duplicate.Success)
        {
            var name = duplicate.Groups["name"].Value;
            var param = Shorten(Join(ParentOf(path, name), name));
            return ("parameter_duplicate", $"The parameter {param} appears more than once.", param);
        }

        if (string.IsNullOrEmpty(path))
        {
            return ("body_invalid", "The request body must be a JSON object.", null);
        }

        return (InvalidCode(path), $"{path} has the wrong JSON type or format.", path);
    }

    /// <summary>"properties.pv_tilt" → "pv_tilt_invalid"; "locations[1]" → "locations_invalid".</summary>
    public static string InvalidCode(string path) => FieldName().Replace(path[(path.LastIndexOf('.') + 1)..], string.Empty) + "_invalid";

    /// <summary>"$.properties.pv_tilt" → "properties.pv_tilt"; "$.locations[1]" → "locations[1]"; "$" → "".</summary>
    private static string ParamOf(string? jsonPath) =>
        jsonPath is null or "$" ? string.Empty
        : jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..]
        : jsonPath.TrimStart('$');

    private static string ParentOf(string path, string name) =>
        path == name ? string.Empty
        : path.EndsWith("." + name, StringComparison.Ordinal) ? path[..^(name.Length + 1)]
        : path;

    /// <summary>A client's property name is echoed back; a long one only in part.</summary>
    public static string Shorten(string param) => param.Length <= 100 ? param : param[..100] + "…";

    public static string Join(string parent, string name) => parent.Length == 0 ? name : parent + "." + name;

    [GeneratedRegex(@"^The JSON property '(?<name>.*)' could not be mapped", RegexOptions.CultureInvariant)]
    private static partial Regex UnmappedProperty();

    [GeneratedRegex(@"^Duplicate property '(?<name>.*?)'", RegexOptions.CultureInvariant)]
    private static partial Regex DuplicateProperty();

    [GeneratedRegex(@"\[\d+\]$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldName();
}
