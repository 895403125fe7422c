using System.Text.Json;
using Flatpeak.Devices.Api.Common.Json;

namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// The limits of a request. Bodies larger than <see cref="MaxBytes"/> are refused with 413 and the error object,
/// whether the client declared the length or streamed the body in chunks (the largest valid device — 100 locations,
/// every text field at 255 characters, escaped — is well under 32 KiB). The request line and headers are limited by
/// Kestrel itself, which answers 414 and 431 before any middleware runs, so those answers carry no error object.
/// </summary>
public static class HttpLimits
{
    public const int MaxBytes = 64 * 1024;
    public const int MaxRequestLineBytes = 8 * 1024;
    public const int MaxRequestHeadersBytes = 32 * 1024;
    public const int MaxRequestHeaderCount = 100;

    public static WebApplicationBuilder AddHttpLimits(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxBytes;
            kestrel.Limits.MaxRequestLineSize = MaxRequestLineBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = MaxRequestHeadersBytes;
            kestrel.Limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
        });
        return builder;
    }

    /// <summary>
    /// Checks a request's body before the endpoint reads it: its charset, its size (declared or streamed), and, for JSON,
    /// that it is well-formed and no deeper than the API allows — the same answer however the body is framed. Runs after
    /// authorization, so that a caller without a valid token learns nothing about its body.
    /// </summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app) =>
        app.Use(async (http, next) =>
        {
            var request = http.Request;
            var media = MediaType(request);
            if (media is { Charset: var charset } && !Utf8(charset))
            {
                await ApiErrors.WriteAsync(http, StatusCodes.Status415UnsupportedMediaType, "content_type_invalid",
                    "Send the body as JSON in UTF-8: 'Content-Type: application/json' (a charset, if given, must be utf-8).");
                return;
            }

            if (media is not null)
            {
                // One canonical form for what follows: the framework reads a charset parameter itself, and a quoted one is
                // not a name it knows.
                request.ContentType = media.Value.MediaType + "; charset=utf-8";
            }

            if (request.ContentLength > MaxBytes)
            {
                await TooLargeAsync(http);
                return;
            }

            if (request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0))
            {
                // Read the body here, up to one byte past the limit: the endpoint sees a bounded body.
                var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 1024);
                var chunk = new byte[8192];
                int read;
                while ((read = await request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
                {
                    buffer.Write(chunk, 0, read);
                    if (buffer.Length > MaxBytes)
                    {
                        await TooLargeAsync(http);
                        return;
                    }
                }

                if (media is { IsJson: true } && JsonFault(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)) is { } fault)
                {
                    await ApiErrors.WriteAsync(http, StatusCodes.Status400BadRequest, fault.Code, fault.Message, fault.Param);
                    return;
                }

                buffer.Position = 0;
                request.Body = buffer;
                request.ContentLength = buffer.Length;
            }

            await next(http);
        });

    private sealed record Fault(string Code, string Message, string? Param = null);

    /// <summary>
    /// Why a JSON body cannot be read at all (not JSON, truncated, nested too deep, a property given twice), or null: the
    /// endpoint reports everything else (types, unknown fields, rules), with the field at fault.
    /// </summary>
    private static Fault? JsonFault(ReadOnlySpan<byte> body)
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
                        if (!Transcodes(ref reader))
                        {
                            return new Fault("body_invalid", "A property name in the request body escapes half of a surrogate pair.");
                        }

                        property = reader.GetString()!;
                        if (!objects.Peek().Names.Add(property))
                        {
                            var param = Join(objects.Peek().Path, property);
                            return new Fault("parameter_duplicate", $"The parameter {param} appears more than once.", param);
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
                        if (reader.TokenType == JsonTokenType.String && reader.ValueIsEscaped && !Transcodes(ref reader))
                        {
                            var field = path[(path.LastIndexOf('.') + 1)..];
                            field = field.Contains('[', StringComparison.Ordinal) ? field[..field.IndexOf('[', StringComparison.Ordinal)] : field;
                            return new Fault(field + "_invalid", $"{path} is not valid text (it escapes half of a surrogate pair).", path);
                        }

                        break;
                }

                property = null;
            }

            return null;
        }
        catch (JsonException e) when (e.Message.Contains("maximum configured depth", StringComparison.Ordinal))
        {
            return new Fault("body_invalid", $"The request body is nested deeper than {ApiJson.MaxDepth} levels.");
        }
        catch (JsonException e)
        {
            return new Fault("body_invalid", $"The request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
        }
    }

    /// <summary>Whether an escaped string is text: "\\ud800" alone escapes half of a surrogate pair, which no string can hold.</summary>
    private static bool Transcodes(ref Utf8JsonReader reader)
    {
        try
        {
            _ = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
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
            return Join(objects.Peek().Path, property!);
        }

        var (path, next) = arrays.Pop();
        arrays.Push((path, next + 1));
        return $"{path}[{next}]";
    }

    private static string Join(string parent, string name)
    {
        var shown = name.Length <= 100 ? name : name[..100] + "…";
        return parent.Length == 0 ? shown : parent + "." + shown;
    }

    private readonly record struct Media(string MediaType, string? Charset, bool IsJson);

    /// <summary>The body's media type and charset; a charset given twice counts as one the server does not read.</summary>
    private static Media? MediaType(HttpRequest request)
    {
        if (request.ContentType is not { } contentType || !Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            return null;
        }

        var charsets = media.Parameters.Where(p => p.Name.Equals("charset", StringComparison.OrdinalIgnoreCase)).ToList();
        var charset = charsets.Count switch
        {
            0 => null,
            1 => Microsoft.Net.Http.Headers.HeaderUtilities.RemoveQuotes(charsets[0].Value).ToString(),
            _ => "(given twice)",
        };
        var type = media.MediaType.ToString();
        var json = type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
        return new Media(type, charset, json);
    }

    /// <summary>A body in another character set (or one the server does not know) is refused, not guessed at.</summary>
    private static bool Utf8(string? charset) => charset is null || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase);

    private static Task TooLargeAsync(HttpContext http) =>
        ApiErrors.WriteAsync(http, StatusCodes.Status413PayloadTooLarge, "body_too_large", $"The request body is larger than {MaxBytes / 1024} KiB.");
}
