using System.Text;
using System.Text.Json;
using FluentValidation;

namespace Flatpeak.Devices.Api.Common;

public static class Validation
{
    /// <summary>Runs the FluentValidation validator of <typeparamref name="TRequest"/> before the handler; the first failure answers 400.</summary>
    public static RouteHandlerBuilder WithValidation<TRequest>(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter<ValidationFilter<TRequest>>().ProducesApiError(StatusCodes.Status400BadRequest);

    /// <summary>"Properties.PvTilt" → "properties.pv_tilt"; "Locations[1]" → "locations[1]".</summary>
    public static string WireName(string propertyPath)
    {
        var wire = new StringBuilder(propertyPath.Length + 8);
        foreach (var segment in propertyPath.Split('.'))
        {
            if (wire.Length > 0)
            {
                wire.Append('.');
            }

            var bracket = segment.IndexOf('[', StringComparison.Ordinal);
            var name = bracket < 0 ? segment : segment[..bracket];
            wire.Append(JsonNamingPolicy.SnakeCaseLower.ConvertName(name));
            if (bracket >= 0)
            {
                wire.Append(segment.AsSpan(bracket));
            }
        }

        return wire.ToString();
    }

    /// <summary>Text a person or system typed: not blank, at most <paramref name="maxLength"/> UTF-16 units, no control characters, no broken surrogate pairs.</summary>
    public static bool IsCleanText(string? text, int maxLength = 255)
    {
        if (string.IsNullOrEmpty(text) || text.Length > maxLength)
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c))
            {
                return false;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    private sealed class ValidationFilter<TRequest>(IValidator<TRequest> validator) : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            foreach (var argument in context.Arguments)
            {
                if (argument is not TRequest request)
                {
                    continue;
                }

                var result = await validator.ValidateAsync(request, context.HttpContext.RequestAborted);
                if (!result.IsValid)
                {
                    var failure = result.Errors[0];
                    return ApiErrors.BadRequest(context.HttpContext, failure.ErrorCode, failure.ErrorMessage, WireName(failure.PropertyName));
                }
            }

            return await next(context);
        }
    }
}
