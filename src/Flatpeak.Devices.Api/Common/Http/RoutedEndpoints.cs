using Microsoft.AspNetCore.Routing.Template;

namespace Flatpeak.Devices.Api.Common;

/// <summary>Finds the endpoint a request was aimed at when routing refused it (wrong method or content type).</summary>
internal static class RoutedEndpoints
{
    public static Endpoint? Find(HttpContext http)
    {
        var candidates = http.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => new TemplateMatcher(new RouteTemplate(e.RoutePattern), new RouteValueDictionary()).TryMatch(http.Request.Path, new RouteValueDictionary()))
            .ToList();
        return candidates.FirstOrDefault(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains(http.Request.Method, StringComparer.OrdinalIgnoreCase) == true)
            ?? candidates.FirstOrDefault();
    }
}
