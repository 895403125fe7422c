namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// Refuses bodies larger than <see cref="MaxBytes"/> with 413 and the error object, whether the client
/// declared the length or streamed the body in chunks. The largest valid device (100 locations, every text
/// field at 255 characters, escaped) is well under 32 KiB.
/// </summary>
public static class RequestBodyLimit
{
    public const int MaxBytes = 64 * 1024;

    public static WebApplicationBuilder AddRequestBodyLimit(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = MaxBytes);
        return builder;
    }

    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app) =>
        app.Use(async (http, next) =>
        {
            var request = http.Request;
            if (request.ContentLength > MaxBytes)
            {
                await TooLargeAsync(http);
                return;
            }

            if (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0)
            {
                // A streamed body: read it here, up to one byte past the limit, so the endpoint sees a bounded body.
                var buffer = new MemoryStream();
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

                buffer.Position = 0;
                request.Body = buffer;
                request.ContentLength = buffer.Length;
            }

            await next(http);
        });

    private static Task TooLargeAsync(HttpContext http) =>
        ApiErrors.WriteAsync(http, StatusCodes.Status413PayloadTooLarge, "body_too_large", $"The request body is larger than {MaxBytes / 1024} KiB.");
}
