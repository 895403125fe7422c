using Flatpeak.Devices.Api.Data;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// One time budget per request (<c>Database:RequestBudgetSeconds</c>), across every database attempt and retry:
/// the request's cancellation token fires when it is spent, and the request is answered
/// <c>503 database_timeout</c> — the database was reached but did not answer in time — rather than waiting out
/// each attempt's own timeout (connecting 3 s, a command 10 s) again and again.
/// </summary>
public static class RequestBudget
{
    public static IApplicationBuilder UseRequestBudget(this IApplicationBuilder app) =>
        app.Use(async (http, next) =>
        {
            // Read per request (a cached singleton): reading it while the pipeline is built would skip the one-line
            // report of a configuration error.
            var budget = TimeSpan.FromSeconds(http.RequestServices.GetRequiredService<IOptions<DatabaseOptions>>().Value.RequestBudgetSeconds);
            var client = http.RequestAborted;
            using var spent = CancellationTokenSource.CreateLinkedTokenSource(client);
            spent.CancelAfter(budget);
            http.RequestAborted = spent.Token;
            try
            {
                await next(http);
            }
            catch (Exception e) when (spent.IsCancellationRequested && !client.IsCancellationRequested && !http.Response.HasStarted && Cancelled(e))
            {
                http.RequestAborted = client;
                ErrorHandling.WarnExpected503(http, "database_timeout", e);
                http.Response.Clear();
                http.Response.Headers.RetryAfter = ErrorHandling.RetryAfterSeconds;
                await ApiErrors.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "database_timeout",
                    $"The database did not answer within {budget.TotalSeconds:0.#} s. Retry in {ErrorHandling.RetryAfterSeconds} seconds " +
                    "(a write may or may not have been made: retry it with the same Idempotency-Key).");
            }
            finally
            {
                http.RequestAborted = client;
            }
        });

    private static bool Cancelled(Exception? e) => ErrorHandling.InChain(e, e => e is OperationCanceledException or TimeoutException) is not null;
}
