namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// The headers every response carries, set as it starts (so error responses get them too): <c>Request-Id</c>;
/// <c>Flatpeak-Version</c>; <c>X-Content-Type-Options: nosniff</c>; and <c>Cache-Control: no-store</c> on the token paths (RFC 6749 §5.1) and on
/// every response to an authenticated request, since nothing an account sees belongs in a shared cache.
/// </summary>
public static class ResponseHeaders
{
    public static IApplicationBuilder UseResponseHeaders(this IApplicationBuilder app) =>
        app.Use((http, next) =>
        {
            // OnStarting, not now: the exception handler clears the headers before it writes the error.
            http.Response.OnStarting(static state =>
            {
                var response = (HttpResponse)state;
                var http = response.HttpContext;
                response.Headers[RequestIds.Header] = http.TraceIdentifier;
                response.Headers.XContentTypeOptions = "nosniff";
                response.Headers[ApiVersions.Header] = ApiVersions.Served;
                if (http.User.Identity?.IsAuthenticated == true || IsTokenPath(http.Request.Path))
                {
                    response.Headers.CacheControl = "no-store";
                }

                return Task.CompletedTask;
            }, http.Response);
            return next(http);
        });

    private static bool IsTokenPath(PathString path) =>
        Array.Exists(Auth.LoginEndpoints.Paths, p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));
}
