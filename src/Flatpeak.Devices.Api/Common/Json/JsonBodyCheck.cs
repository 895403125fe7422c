using System.Text.Json;

namespace Flatpeak.Devices.Api.Common.Json;

/// <summary>
/// What makes a JSON body unreadable as a whole, found in one pass of the reader over the buffered body, so that the
/// answer is the same however the body was framed and whichever endpoint reads it: not JSON or truncated, nested too
/// deep, a property given twice, half a surrogate pair escaped in a string. Everything else (types, unknown fields,
/// rules) the endpoint reports, with the field at fault.
/// </summary>
public static class JsonBodyCheck
{
    public sealed record Failure(string Code, string Message, string? Param = null);

    public static Failure? Fault(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = ApiJson.MaxDepth });
        // Per open object: the names seen and its path; per open array: its path and the next index.
        var objects = new Stack<(HashSet<string> Names, string Path)>();
        var arrays = new Stack<(string Path, int Next)>();
        var containers = new Stack<bool>(); // true: object
        string? property = null;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        property = Text(ref reader);
                        if (property is null)
                        {
                            return new Failure("body_invalid", "A property name in the request body escapes half of a surrogate pair.");
                        }

                        if (!objects.Peek().Names.Add(property))
                        {
                            var param = JsonErrors.Shorten(JsonErrors.Join(objects.Peek().Path, property));
                            return new Failure("parameter_duplicate", $"The parameter {param} appears more than once.", param);
                        }

                        continue;
                    case JsonTokenType.StartObject:
                        objects.Push((new HashSet<string>(StringComparer.Ordinal), ValuePath(objects, arrays, containers, property)));
                        containers.Push(true);
                        break;
                    case JsonTokenType.StartArray:
                        arrays.Push((ValuePath(objects, arrays, containers, property), 0));
                        containers.Push(false);
                        break;
                    case JsonTokenType.EndObject:
                        objects.Pop();
                        containers.Pop();
                        break;
                    case JsonTokenType.EndArray:
                        arrays.Pop();
                        containers.Pop();
                        break;
                    default:
                        var path = ValuePath(objects, arrays, containers, property);
                        if (reader.TokenType == JsonTokenType.String && reader.ValueIsEscaped && Text(ref reader) is null)
                        {
                            return new Failure(JsonErrors.InvalidCode(path), $"{path} is not valid text (it escapes half of a surrogate pair).", path);
                        }

                        break;
                }

                property = null;
            }

            return null;
        }
        catch (JsonException e) when (e.Message.Contains("maximum configured depth", StringComparison.Ordinal))
        {
            return new Failure("body_invalid", $"The request body is nested deeper than {ApiJson.MaxDepth} levels.");
        }
        catch (JsonException e)
        {
            return new Failure("body_invalid", $"The request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
        }
    }

    /// <summary>The string token's text, or null when it escapes half of a surrogate pair (which no string can hold).</summary>
    private static string? Text(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The path of the value just read, counting it in its array: "properties.pv_tilt", "locations[1]".</summary>
    private static string ValuePath(Stack<(HashSet<string> Names, string Path)> objects, Stack<(string Path, int Next)> arrays, Stack<bool> containers, string? property)
    {
        if (containers.Count == 0)
        {
            return string.Empty;
        }

        if (containers.Peek())
        {
            return JsonErrors.Shorten(JsonErrors.Join(objects.Peek().Path, property!));
        }

        var (path, next) = arrays.Pop();
        arrays.Push((path, next + 1));
        return $"{path}[{next}]";
    }
}
