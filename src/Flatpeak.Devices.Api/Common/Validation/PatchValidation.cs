using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Flatpeak.Devices.Api.Common.Json;
using FluentValidation;
using FluentValidation.Results;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// Validation of a JSON merge patch by the rules of the object's create request, so that create and update share one
/// definition. Before the stored object is read, the filter checks what the patch itself sends (types, unknown fields,
/// each sent value against its rule); after the merge, the handler validates the whole merged object by the same rules.
/// </summary>
public static class PatchValidation
{
    /// <summary>Checks the JSON object body of a PATCH against the rules of <typeparamref name="TRequest"/>; the first failure answers 400.</summary>
    public static RouteHandlerBuilder WithPatchValidation<TRequest>(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter<Filter<TRequest>>().ProducesApiError(StatusCodes.Status400BadRequest)
            .WithMetadata(new PatchOf(typeof(TRequest)));

    /// <summary>Marks an endpoint whose body is a merge patch of <see cref="RequestType"/>, for the OpenAPI document.</summary>
    public sealed record PatchOf(Type RequestType);

    /// <summary>Reads a merged object as the request and validates it; an error is the 400 to answer.</summary>
    public static async Task<(TRequest? Request, BadRequest<ApiError>? Error)> ReadMergedAsync<TRequest>(
        HttpContext http, JsonObject merged, JsonObject patch, CancellationToken cancellationToken)
    {
        var (request, error) = Read<TRequest>(http, merged);
        if (error is not null)
        {
            return (default, error);
        }

        var result = await http.RequestServices.GetRequiredService<IValidator<TRequest>>().ValidateAsync(request!, cancellationToken);
        return result.IsValid ? (request, null) : (default, ErrorOf(http, result.Errors[0], patch));
    }

    private static (TRequest? Request, BadRequest<ApiError>? Error) Read<TRequest>(HttpContext http, JsonObject body)
    {
        var options = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        try
        {
            var request = body.Deserialize((JsonTypeInfo<TRequest>)options.GetTypeInfo(typeof(TRequest)));
            return (request, null);
        }
        catch (JsonException e)
        {
            var (code, message, param) = JsonErrors.Describe(e, options);
            return (default, ApiErrors.BadRequest(http, code, message, param));
        }
    }

    /// <summary>A field the patch sets to null that the object must have cannot be removed: <c>&lt;field&gt;_invalid</c>, not <c>_missing</c>.</summary>
    private static BadRequest<ApiError> ErrorOf(HttpContext http, ValidationFailure failure, JsonObject patch)
    {
        var param = Validation.WireName(failure.PropertyName);
        return failure.ErrorCode.EndsWith("_missing", StringComparison.Ordinal) && MergePatch.Sends(patch, param)
            ? ApiErrors.BadRequest(http, FieldRules.Invalid(param), $"{param} cannot be removed.", param)
            : ApiErrors.BadRequest(http, failure.ErrorCode, failure.ErrorMessage, param);
    }

    private sealed class Filter<TRequest>(IValidator<TRequest> validator) : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var http = context.HttpContext;
            var body = context.Arguments.OfType<JsonElement>().Single();
            if (body.ValueKind != JsonValueKind.Object)
            {
                return ApiErrors.BadRequest(http, "body_invalid", "The request body must be a JSON object.");
            }

            var patch = JsonObject.Create(body)!;
            var (request, error) = Read<TRequest>(http, patch);
            if (error is not null)
            {
                return error;
            }

            // The patch alone lacks what it leaves out: only failures of the fields it sends count here.
            var result = await validator.ValidateAsync(request!, http.RequestAborted);
            var failure = result.Errors.FirstOrDefault(f => MergePatch.Sends(patch, Validation.WireName(f.PropertyName)));
            return failure is null ? await next(context) : ErrorOf(http, failure, patch);
        }
    }
}
