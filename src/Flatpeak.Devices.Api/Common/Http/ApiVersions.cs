namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// <c>Flatpeak-Version</c>: the one API version served is <see cref="Served"/>, the version of Flatpeak's busbar
/// reference pages whose device body this contract follows. Every response and every event says so. A request may ask
/// for it, or for <see cref="Alias"/> (the date of Flatpeak's 2024 OpenAPI file), since nothing served differs between
/// the two; any other version is refused with <c>422 api_version_not_supported</c> before anything else is done.
/// </summary>
public static class ApiVersions
{
    public const string Header = "Flatpeak-Version";
    public const string Served = "2026-08-01.busbar";
    public const string Alias = "2024-08-24";

    /// <summary>Before routing: the refusal belongs to no operation (context <c>api</c>).</summary>
    public static IApplicationBuilder UseApiVersions(this IApplicationBuilder app) =>
        app.Use((http, next) =>
        {
            if (http.Request.Headers.TryGetValue(Header, out var asked) && !(asked.Count == 1 && asked[0] is Served or Alias))
            {
                var shown = asked.ToString();
                shown = shown.Length <= 40 ? shown : shown[..40] + "…";
                return ApiErrors.WriteAsync(http, StatusCodes.Status422UnprocessableEntity, "api_version_not_supported",
                    $"API version '{shown}' is not served; send {Header}: {Served} (or its alias {Alias}), or no {Header} header.", Header);
            }

            return next(http);
        });
}
