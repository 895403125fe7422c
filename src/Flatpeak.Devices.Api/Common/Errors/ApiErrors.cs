using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flatpeak.Devices.Api.Common;

/// <summary>Builds and writes the API's error object; every failure of every endpoint goes through here.</summary>
public static class ApiErrors
{
    public static ApiError Create(HttpContext http, int status, string code, string message, string? param = null)
    {
        var endpoint = http.GetEndpoint() ?? http.Features.Get<IExceptionHandlerFeature>()?.Endpoint;
        var operation = endpoint?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
        var type = status switch
        {
            StatusCodes.Status429TooManyRequests => "rate_limit",
            >= 500 => "api_error",
            _ => "invalid_request",
        };
        var now = http.RequestServices.GetService<TimeProvider>()?.GetUtcNow() ?? DateTimeOffset.UtcNow;

        return new ApiError(
            Object: "error",
            LiveMode: Caller.From(http.User)?.LiveMode ?? false,
            Context: operation is null ? "api" : "api." + operation,
            Type: type,
            Code: code,
            Message: message,
            Param: param,
            RequestId: RequestIds.Of(http),
            TimeCreated: now.TruncateToSeconds());
    }

    public static BadRequest<ApiError> BadRequest(HttpContext http, string code, string message, string? param = null) =>
        TypedResults.BadRequest(Create(http, StatusCodes.Status400BadRequest, code, message, param));

    /// <summary>An error with any status, for the handlers and filters whose result unions carry <c>JsonHttpResult&lt;ApiError&gt;</c>.</summary>
    public static JsonHttpResult<ApiError> Json(HttpContext http, int status, string code, string message, string? param = null) =>
        TypedResults.Json(Create(http, status, code, message, param), ApiJsonContext.Default.ApiError, statusCode: status);

    public static NotFound<ApiError> NotFound(HttpContext http, string objectName, string id) =>
        TypedResults.NotFound(Create(http, StatusCodes.Status404NotFound, objectName + "_not_found", $"No such {objectName}: '{id}'", "id"));

    public static Conflict<ApiError> Conflict(HttpContext http, string code, string message) =>
        TypedResults.Conflict(Create(http, StatusCodes.Status409Conflict, code, message, "id"));

    /// <summary>Writes an error outside a handler: middleware, authentication, exception handling.</summary>
    public static Task WriteAsync(HttpContext http, int status, string code, string message, string? param = null)
    {
        var error = Create(http, status, code, message, param);
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(error, ApiJsonContext.Default.ApiError, contentType: "application/json", http.RequestAborted);
    }

    public static DateTimeOffset TruncateToSeconds(this DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}
