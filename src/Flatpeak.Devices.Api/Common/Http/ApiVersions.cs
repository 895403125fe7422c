namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// <c>Flatpeak-Version</c>: the one API version served is 2024-08-24 (the date of Flatpeak's published OpenAPI file this
/// contract follows). Every response says so; a request that asks for any other version is refused with
/// <c>422 api_version_not_supported</c> before anything else is done.
/// </summary>
public static class ApiVersions
{
    public const string Header = "Flatpeak-Version";
    public const string Served = "2024-08-24";

    /// <summary>Before routing: the refusal belongs to no operation (context <c>api</c>).</summary>
    public static IApplicationBuilder UseApiVersions(this IApplicationBuilder app) =>
        app.Use((http, next) =>
        {
            if (http.Request.Headers.TryGetValue(Header, out var asked) && !(asked.Count == 1 && asked[0] == Served))
            {
                var shown = asked.ToString();
                shown = shown.Length <= 40 ? shown : shown[..40] + "…";
                return ApiErrors.WriteAsync(http, StatusCodes.Status422UnprocessableEntity, "api_version_not_supported",
                    $"API version '{shown}' is not served; send {Header}: {Served}, or no {Header} header.", Header);
            }

            return next(http);
        });
}
