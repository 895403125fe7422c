using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Api.Idempotency;

/// <summary>
/// Stripe's Idempotency-Key on a POST: the first request with a key runs, and its response is stored in the same
/// transaction as what it changed; a retry with the same key and parameters gets that response again
/// (<c>Idempotent-Replayed: true</c>) and changes nothing. The same key with other parameters is 422, a retry while
/// the first still runs is 409. Requests refused by validation never reach here, so they are not remembered.
/// Keys belong to an account and mode and are kept 24 hours.
/// </summary>
public static class IdempotencyFilter
{
    public const string Header = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    public const int MaxKeyLength = 255;
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);
    /// <summary>How long a key stays taken by a request that never finished (its instance died) before a retry may take it.</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromSeconds(60);

    /// <summary>Put it after <c>WithValidation</c>: filters run in the order they are added.</summary>
    public static RouteHandlerBuilder WithIdempotency<TRequest>(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter<Filter<TRequest>>()
            .ProducesApiError(StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity)
            .WithMetadata(new IdempotentEndpoint());

    /// <summary>Marks endpoints that take the header, for the OpenAPI document.</summary>
    public sealed class IdempotentEndpoint;

    private sealed class Filter<TRequest>(DevicesDbContext db, TimeProvider time, IOptions<JsonOptions> json) : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var http = context.HttpContext;
            if (!http.Request.Headers.TryGetValue(Header, out var values))
            {
                return await next(context);
            }

            if (values.Count != 1)
            {
                return ApiErrors.BadRequest(http, "idempotency_key_invalid",
                    $"The {Header} header was sent more than once; send one key per request.", Header);
            }

            // One line listing several keys (RFC 9110's "k1, k2", as HttpClient joins repeated values).
            if (values[0]!.Contains(','))
            {
                return ApiErrors.BadRequest(http, "idempotency_key_invalid",
                    $"The {Header} header lists more than one key (a comma separates them); send one key per request.", Header);
            }

            var key = values.ToString();
            if (key.Length is 0 or > MaxKeyLength || key.Any(c => c is < ' ' or > '~'))
            {
                return ApiErrors.BadRequest(http, "idempotency_key_invalid",
                    $"The {Header} header must be 1 to {MaxKeyLength} printable ASCII characters.", Header);
            }

            var caller = Caller.From(http.User)!;
            var request = context.Arguments.OfType<TRequest>().Single();
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(
                $"{http.Request.Method} {http.Request.Path}\n{JsonSerializer.Serialize(request, json.Value.SerializerOptions)}"));
            var now = time.GetUtcNow();
            var token = Guid.NewGuid();

            try
            {
                var (claimed, stored) = await ClaimAsync(caller, key, hash, now, token, http.RequestAborted);
                if (!claimed)
                {
                    return Answer(http, stored!, hash, key);
                }

                return await RunAndRememberAsync(context, next, caller, key);
            }
            catch
            {
                // Answering a failure, the request lets its key go (unless its change committed with its replay), so
                // that a retry runs at once rather than finding the key still held.
                await ForgetAsync(caller, key, token);
                throw;
            }
        }

        private async Task<(bool Claimed, IdempotencyKey? Stored)> ClaimAsync(
            Caller caller, string key, byte[] hash, DateTimeOffset now, Guid token, CancellationToken cancellationToken)
        {
            var inserted = await db.Database.ExecuteSqlInterpolatedAsync($"""
                INSERT INTO idempotency_keys (account_id, live_mode, key, request_hash, time_created, locked_at, claim_token)
                VALUES ({caller.AccountId}, {caller.LiveMode}, {key}, {hash}, {now}, {now}, {token})
                ON CONFLICT DO NOTHING
                """, cancellationToken);
            if (inserted == 1)
            {
                return (true, null);
            }

            var stored = await Find(caller, key).SingleAsync(cancellationToken);
            if (stored.ClaimToken == token)
            {
                // This request's own claim: its insert committed, but the acknowledgement was lost and the insert retried.
                return (true, null);
            }

            var expired = stored.TimeCreated < now - Retention;
            var abandoned = stored.ResponseStatus is null && stored.LockedAt < now - AbandonedAfter;
            // An expired key counts as new; an abandoned one may be retried, but only with the same parameters.
            if (!expired && !(abandoned && stored.RequestHash.AsSpan().SequenceEqual(hash)))
            {
                return (false, stored);
            }

            // Take the key over, unless another request did so first (the update then matches nothing).
            var taken = await Find(caller, key)
                .Where(k => k.TimeCreated == stored.TimeCreated && k.LockedAt == stored.LockedAt && k.ClaimToken == stored.ClaimToken)
                .ExecuteUpdateAsync(k => k
                    .SetProperty(x => x.RequestHash, hash)
                    .SetProperty(x => x.TimeCreated, expired ? now : stored.TimeCreated)
                    .SetProperty(x => x.LockedAt, now)
                    .SetProperty(x => x.ClaimToken, token)
                    .SetProperty(x => x.ResponseStatus, (int?)null)
                    .SetProperty(x => x.ResponseBody, (string?)null)
                    .SetProperty(x => x.ResponseLocation, (string?)null), cancellationToken);
            if (taken == 1)
            {
                return (true, null);
            }

            return (false, await Find(caller, key).SingleAsync(cancellationToken));
        }

        private static object Answer(HttpContext http, IdempotencyKey stored, byte[] hash, string key)
        {
            if (!stored.RequestHash.AsSpan().SequenceEqual(hash))
            {
                return ApiErrors.Json(http, StatusCodes.Status422UnprocessableEntity, "idempotency_key_reused",
                    $"The {Header} '{key}' was used with other parameters; use a new key for a new request.", Header);
            }

            if (stored.ResponseStatus is not { } status)
            {
                return ApiErrors.Json(http, StatusCodes.Status409Conflict, "idempotency_key_in_use",
                    $"A request with the {Header} '{key}' is still running; retry when it has finished.", Header);
            }

            http.Response.Headers[ReplayedHeader] = "true";
            if (stored.ResponseLocation is not null)
            {
                http.Response.Headers.Location = stored.ResponseLocation;
            }

            return TypedResults.Text(WithThisRequestId(http, stored.ResponseBody, status), "application/json", Encoding.UTF8, status);
        }

        /// <summary>A replayed error object names this request, as its Request-Id header does; a replayed object is as it was.</summary>
        private static string? WithThisRequestId(HttpContext http, string? body, int status)
        {
            if (body is null || status < 400 || System.Text.Json.Nodes.JsonNode.Parse(body) is not System.Text.Json.Nodes.JsonObject error)
            {
                return body;
            }

            error["request_id"] = RequestIds.Of(http);
            return error.ToJsonString();
        }

        /// <summary>
        /// Runs the endpoint. A write stores the response to replay in its own unit of work, with the change (see
        /// <see cref="IdempotencyClaim"/>); any other answer of the endpoint (a location_not_found, say) changed nothing,
        /// so it is stored here, after.
        /// </summary>
        private async Task<object?> RunAndRememberAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, Caller caller, string key)
        {
            var claim = new IdempotencyClaim(key);
            context.HttpContext.Features.Set(claim);
            var result = await next(context);
            if (!claim.ResponseStored)
            {
                var (status, body, location) = Describe(result);
                await Find(caller, key).ExecuteUpdateAsync(k => k
                    .SetProperty(x => x.ResponseStatus, status)
                    .SetProperty(x => x.ResponseBody, body)
                    .SetProperty(x => x.ResponseLocation, location), context.HttpContext.RequestAborted);
            }

            return result;
        }

        private async Task ForgetAsync(Caller caller, string key, Guid token)
        {
            try
            {
                await Find(caller, key).Where(k => k.ResponseStatus == null && k.ClaimToken == token).ExecuteDeleteAsync(CancellationToken.None);
            }
            catch (Exception e) when (ErrorHandling.DatabaseUnavailable(e))
            {
                // The database is gone: the key stays taken until it counts as abandoned, then a retry may run.
            }
        }

        private (int Status, string? Body, string? Location) Describe(object? result)
        {
            while (result is INestedHttpResult nested)
            {
                result = nested.Result;
            }

            var status = (result as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status200OK;
            var value = (result as IValueHttpResult)?.Value;
            var body = value is null ? null : JsonSerializer.Serialize(value, value.GetType(), json.Value.SerializerOptions);
            // Created<T> carries its Location on a property of its own (there is no interface for it).
            var location = result?.GetType().GetProperty("Location")?.GetValue(result) as string;
            return (status, body, location);
        }

        private IQueryable<IdempotencyKey> Find(Caller caller, string key) =>
            db.IdempotencyKeys.Where(k => k.AccountId == caller.AccountId && k.LiveMode == caller.LiveMode && k.Key == key);
    }
}
