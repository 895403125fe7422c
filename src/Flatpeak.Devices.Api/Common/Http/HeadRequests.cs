namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// HEAD works wherever GET does (RFC 9110 §9.3.2): a HEAD request is routed as a GET and answered with the same
/// status and headers, and no body. Must come before routing.
/// </summary>
public static class HeadRequests
{
    public static IApplicationBuilder UseHeadAsGet(this IApplicationBuilder app) =>
        app.Use((http, next) =>
        {
            if (HttpMethods.IsHead(http.Request.Method))
            {
                http.Request.Method = HttpMethods.Get;
                http.Response.Body = Stream.Null;
            }

            return next(http);
        });
}
