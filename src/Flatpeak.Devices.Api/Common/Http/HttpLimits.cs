using System.Buffers;
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
                // Read the body here, up to one byte past the limit, into a pooled buffer that goes back when the request
                // is done: the endpoint sees a bounded body, and a request allocates no buffer of its own.
                var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is { } length ? (int)length + 1 : 4096);
                try
                {
                    var filled = 0;
                    int read;
                    while ((read = await request.Body.ReadAsync(buffer.AsMemory(filled), http.RequestAborted)) > 0)
                    {
                        filled += read;
                        if (filled > MaxBytes)
                        {
                            await TooLargeAsync(http);
                            return;
                        }

                        if (filled == buffer.Length)
                        {
                            var larger = ArrayPool<byte>.Shared.Rent(Math.Min(2 * buffer.Length, MaxBytes + 1));
                            buffer.AsSpan(0, filled).CopyTo(larger);
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = larger;
                        }
                    }

                    if (media is { IsJson: true } && JsonBodyCheck.Fault(buffer.AsSpan(0, filled)) is { } fault)
                    {
                        await ApiErrors.WriteAsync(http, StatusCodes.Status400BadRequest, fault.Code, fault.Message, fault.Param);
                        return;
                    }

                    request.Body = new MemoryStream(buffer, 0, filled, writable: false);
                    request.ContentLength = filled;
                    await next(http);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                return;
            }

            await next(http);
        });

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
