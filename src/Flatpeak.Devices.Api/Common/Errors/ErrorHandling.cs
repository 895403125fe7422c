using System.Text.Json;
using Flatpeak.Devices.Api.Common.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// Turns every failure that does not come from a handler (unreadable bodies, wrong content types,
/// unmatched routes, unhandled exceptions) into the API's error object.
/// </summary>
public static partial class ErrorHandling
{
    public static IServiceCollection AddApiErrors(this IServiceCollection services)
    {
        // Minimal APIs then throw BadHttpRequestException for unreadable bodies instead of writing an empty 400,
        // so that the exception handler below answers them with the error object.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddExceptionHandler(o =>
        {
            o.ExceptionHandler = WriteExceptionAsync;
            // A body the client got wrong is the client's fault, and a database that is down or behind is expected:
            // neither is an error of ours to log with a stack trace (the second is one warning line, below).
            o.SuppressDiagnosticsCallback = c => c.Exception is BadHttpRequestException || DatabaseUnavailable(c.Exception) || SchemaOutdated(c.Exception);
        });
        return services;
    }

    public static IApplicationBuilder UseApiErrors(this IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(context =>
        {
            var http = context.HttpContext;
            var status = http.Response.StatusCode;
            var (code, message) = status switch
            {
                StatusCodes.Status404NotFound => ("resource_not_found", $"No endpoint at {http.Request.Method} {http.Request.Path}."),
                StatusCodes.Status405MethodNotAllowed => ("method_not_allowed", $"{http.Request.Method} is not allowed on {http.Request.Path}."),
                StatusCodes.Status415UnsupportedMediaType => ("content_type_invalid", SendJson),
                StatusCodes.Status403Forbidden => ("forbidden", "This token may not do that."),
                _ => ("request_failed", "The request could not be served."),
            };
            if (status is StatusCodes.Status415UnsupportedMediaType)
            {
                // Routing refused the request before choosing an endpoint; name the operation it was aimed at all the same.
                // (A 405 names no operation: the method asked for has none on that path, so its context is "api".)
                http.SetEndpoint(RoutedEndpoints.Find(http));
            }

            return ApiErrors.WriteAsync(http, status, code, message);
        });
        return app;
    }

    /// <summary>Declares, for the OpenAPI document, that an endpoint answers each of <paramref name="statuses"/> with the error object.</summary>
    public static TBuilder ProducesApiError<TBuilder>(this TBuilder builder, params int[] statuses)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ApiError), ["application/json"]));
        }

        return builder;
    }

    /// <summary>The failures every authenticated endpoint can answer with.</summary>
    public static TBuilder ProducesErrorsOfAuthenticatedEndpoints<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesApiError(
            StatusCodes.Status401Unauthorized,
            StatusCodes.Status429TooManyRequests,
            StatusCodes.Status500InternalServerError,
            StatusCodes.Status503ServiceUnavailable);

    /// <summary>The failures of reading a JSON body.</summary>
    public static RouteHandlerBuilder ProducesBodyErrors(this RouteHandlerBuilder builder) =>
        builder.ProducesApiError(StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType);

    public const string RetryAfterSeconds = "2";

    private const string SendJson = "Send the body as JSON with 'Content-Type: application/json'.";

    /// <summary>A fault of the connection to PostgreSQL (down, unreachable, restarting, pool exhausted), not of the request.</summary>
    public static bool DatabaseUnavailable(Exception? exception) =>
        InChain(exception, e => e is Npgsql.NpgsqlException { IsTransient: true } or System.Net.Sockets.SocketException) is not null;

    /// <summary>
    /// The database's schema is behind this version of the service (migrations pending): a table or column it uses is
    /// not there yet. Answered as <c>/readyz</c> answers it.
    /// </summary>
    public static bool SchemaOutdated(Exception? exception) =>
        InChain(exception, e => e is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UndefinedTable or Npgsql.PostgresErrorCodes.UndefinedColumn }) is not null;

    /// <summary>The first of <paramref name="exception"/> and its inner exceptions that <paramref name="matches"/>, or null.</summary>
    public static Exception? InChain(Exception? exception, Func<Exception, bool> matches)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (matches(e))
            {
                return e;
            }
        }

        return null;
    }

    /// <summary>The exception handler's response: client faults by their kind, anything else a 500 that tells nothing of our internals.</summary>
    private static async Task WriteExceptionAsync(HttpContext http)
    {
        var failure = http.Features.Get<IExceptionHandlerFeature>()?.Error;
        // A missing table or column is the schema's being behind only while migrations are pending; otherwise a bug.
        var behind = SchemaOutdated(failure) && await MigrationsPendingAsync(http);
        switch (failure)
        {
            case BadHttpRequestException { InnerException: JsonException jsonError }:
                var options = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
                var (code, message, param) = JsonErrors.Describe(jsonError, options);
                await ApiErrors.WriteAsync(http, StatusCodes.Status400BadRequest, code, message, param);
                break;
            case BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType }:
                await ApiErrors.WriteAsync(http, StatusCodes.Status415UnsupportedMediaType, "content_type_invalid", SendJson);
                break;
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                await ApiErrors.WriteAsync(http, StatusCodes.Status413PayloadTooLarge, "body_too_large",
                    $"The request body is larger than {HttpLimits.MaxBytes / 1024} KiB.");
                break;
            case BadHttpRequestException:
                await ApiErrors.WriteAsync(http, StatusCodes.Status400BadRequest, "body_invalid", "The request body must be a JSON object.");
                break;
            case var error when InChain(error, e => e is Data.Batching.WriteOutcomeUnknownException) is not null:
                WarnExpected503(http, "database_unavailable", error!);
                http.Response.Headers.RetryAfter = RetryAfterSeconds;
                await ApiErrors.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "database_unavailable",
                    $"The service lost its database while writing; the write may or may not have been made. Retry in {RetryAfterSeconds} seconds " +
                    "with the same Idempotency-Key.");
                break;
            case var error when DatabaseUnavailable(error):
                WarnExpected503(http, "database_unavailable", error!);
                http.Response.Headers.RetryAfter = RetryAfterSeconds;
                await ApiErrors.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "database_unavailable",
                    $"The service cannot reach its database just now. Nothing was changed; retry in {RetryAfterSeconds} seconds.");
                break;
            case var error when behind:
                WarnExpected503(http, "schema_outdated", error!);
                http.Response.Headers.RetryAfter = RetryAfterSeconds;
                await ApiErrors.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "schema_outdated",
                    "The database schema is behind this version of the service (migrations pending); retry once they are applied.");
                break;
            default:
                if (SchemaOutdated(failure))
                {
                    // Its diagnostics were held back in case the schema was behind; it is not, so it is a bug: with its stack.
                    LogUnexpected(Logger(http), failure!, http.TraceIdentifier);
                }

                await ApiErrors.WriteAsync(http, StatusCodes.Status500InternalServerError, "internal_error",
                    "Something went wrong on our side. Quote the request_id if you contact us.");
                break;
        }
    }

    /// <summary>An expected 503 (the database down, behind or too slow): one warning line with the request id, no stack trace.</summary>
    public static void WarnExpected503(HttpContext http, string code, Exception error) =>
        LogExpected503(Logger(http), code, http.TraceIdentifier, error.GetType().Name, error.Message.ReplaceLineEndings(" "));

    private static ILogger Logger(HttpContext http) =>
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ErrorHandling).FullName!);

    /// <summary>Whether migrations are pending; when that cannot be told just now, the missing table most likely means they are.</summary>
    private static async Task<bool> MigrationsPendingAsync(HttpContext http)
    {
        try
        {
            var db = http.RequestServices.GetRequiredService<Data.DevicesDbContext>();
            return (await Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.GetPendingMigrationsAsync(db.Database, CancellationToken.None)).Any();
        }
        catch (Exception e)
        {
            var logger = Logger(http);
            LogPendingUnknown(logger, e);
            return true;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not read the pending migrations")]
    private static partial void LogPendingUnknown(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception while answering request {RequestId}")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered 503 {Code} to request {RequestId}: {Exception}: {Reason}")]
    private static partial void LogExpected503(ILogger logger, string code, string requestId, string exception, string reason);
}
