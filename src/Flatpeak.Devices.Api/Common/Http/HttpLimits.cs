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

    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app) =>
        app.Use(async (http, next) =>
        {
            var request = http.Request;
            if (!Utf8OrNoCharset(request.ContentType))
            {
                await ApiErrors.WriteAsync(http, StatusCodes.Status415UnsupportedMediaType, "content_type_invalid",
                    "Send the body as JSON in UTF-8: 'Content-Type: application/json' (a charset, if given, must be utf-8).");
                return;
            }

            if (request.ContentLength > MaxBytes)
            {
                await TooLargeAsync(http);
                return;
            }

            if (request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0))
            {
                // Read the body here, up to one byte past the limit: the endpoint sees a bounded body, and it is
                // checked for depth the same way however it was framed (a deep value of the wrong type must not be
                // reported as that field's error when the body was sent with a length, and as too deep when chunked).
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

                if (TooDeep(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
                {
                    await ApiErrors.WriteAsync(http, StatusCodes.Status400BadRequest, "body_invalid",
                        $"The request body is nested deeper than {ApiJson.MaxDepth} levels.");
                    return;
                }

                buffer.Position = 0;
                request.Body = buffer;
                request.ContentLength = buffer.Length;
            }

            await next(http);
        });

    /// <summary>Whether the body, read as JSON, nests deeper than the API allows (other faults are the endpoint's to report).</summary>
    private static bool TooDeep(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = ApiJson.MaxDepth });
        try
        {
            while (reader.Read())
            {
            }

            return false;
        }
        catch (JsonException e)
        {
            return e.Message.Contains("depth", StringComparison.Ordinal);
        }
    }

    /// <summary>A body in another character set (or one the server does not know) is refused, not guessed at.</summary>
    private static bool Utf8OrNoCharset(string? contentType) =>
        contentType is null
        || !Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
        || media.Charset.Length == 0
        || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
        || media.Charset.Equals("\"utf-8\"", StringComparison.OrdinalIgnoreCase);

    private static Task TooLargeAsync(HttpContext http) =>
        ApiErrors.WriteAsync(http, StatusCodes.Status413PayloadTooLarge, "body_too_large", $"The request body is larger than {MaxBytes / 1024} KiB.");
}
