using Microsoft.AspNetCore.Http.Features;

namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// Gives every request a <c>req_</c> id: the <c>Request-Id</c> response header, the <c>request_id</c> of error objects,
/// and the <c>RequestId</c> of every log line of the request (ASP.NET Core's own request log scope carries it,
/// because the id is set as the request's trace identifier before hosting opens that scope).
/// </summary>
public static class RequestIds
{
    public const string Header = "Request-Id";

    public static IServiceCollection AddRequestIds(this IServiceCollection services)
    {
        services.AddSingleton<DefaultHttpContextFactory>();
        services.AddSingleton<IHttpContextFactory, RequestIdHttpContextFactory>();
        return services;
    }

    public static string Of(HttpContext http) => http.TraceIdentifier;

    private sealed class RequestIdHttpContextFactory(DefaultHttpContextFactory inner, ObjectIds ids) : IHttpContextFactory
    {
        public HttpContext Create(IFeatureCollection featureCollection)
        {
            var http = inner.Create(featureCollection);
            http.TraceIdentifier = ids.New(ObjectIds.Request);
            return http;
        }

        public void Dispose(HttpContext httpContext) => inner.Dispose(httpContext);
    }
}
