namespace Flatpeak.Devices.Api.Common;

/// <summary>Gives every request a <c>req_</c> id, sent back in the <c>Request-Id</c> header and in every log line of the request.</summary>
public static class RequestIds
{
    public const string Header = "Request-Id";

    public static IApplicationBuilder UseRequestIds(this IApplicationBuilder app)
    {
        var ids = app.ApplicationServices.GetRequiredService<ObjectIds>();
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Flatpeak.Devices.Api.Requests");
        return app.Use(async (http, next) =>
        {
            var requestId = ids.New(ObjectIds.Request);
            http.TraceIdentifier = requestId;
            // OnStarting, not now: the exception handler clears the headers before it writes the error.
            http.Response.OnStarting(static state =>
            {
                var (response, id) = ((HttpResponse, string))state;
                response.Headers[Header] = id;
                return Task.CompletedTask;
            }, (http.Response, requestId));
            using (logger.BeginScope(new KeyValuePair<string, object>[] { new("RequestId", requestId) }))
            {
                await next(http);
            }
        });
    }

    public static string Of(HttpContext http) =>
        http.TraceIdentifier.StartsWith(ObjectIds.Request + "_", StringComparison.Ordinal) ? http.TraceIdentifier : string.Empty;
}
