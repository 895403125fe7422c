using System.Globalization;
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

    /// <summary>
    /// Text a person or system typed: 1 to <paramref name="maxLength"/> Unicode characters (code points, as JSON
    /// Schema's maxLength counts them), no control characters, no broken surrogate pairs.
    /// </summary>
    public static bool IsCleanText(string? text, int maxLength = FieldRules.MaxTextLength) => Check(text, maxLength, identifier: false);

    /// <summary>
    /// An identifier (a reference_id): clean text that is not blank and has nothing invisible or direction-changing in
    /// it — no format characters (bidi embeddings, overrides and isolates, zero-width characters, the BOM, soft
    /// hyphens…), no line or paragraph separators — so that two ids that look the same are the same.
    /// </summary>
    public static bool IsCleanIdentifier(string? text, int maxLength = FieldRules.MaxTextLength) => Check(text, maxLength, identifier: true);

    /// <summary>
    /// Default-ignorable code points (Unicode's DerivedCoreProperties) that are not format characters — combining
    /// grapheme joiner, variation selectors, Hangul fillers… — and the blank Braille pattern: all render as nothing.
    /// </summary>
    private static bool Invisible(int c) =>
        c is 0x034F or 0x115F or 0x1160 or 0x17B4 or 0x17B5 or 0x3164 or 0xFFA0 or 0x2800
        || c is >= 0x180B and <= 0x180F
        || c is >= 0xFE00 and <= 0xFE0F
        || c is >= 0xFFF0 and <= 0xFFF8
        || c is >= 0x1BCA0 and <= 0x1BCA3
        || c is >= 0xE0000 and <= 0xE0FFF;

    private static bool Check(string? text, int maxLength, bool identifier)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 2 * maxLength || (identifier && string.IsNullOrWhiteSpace(text)))
        {
            return false;
        }

        var characters = 0;
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var used) != System.Buffers.OperationStatus.Done || ++characters > maxLength)
            {
                return false;
            }

            var category = Rune.GetUnicodeCategory(rune);
            if (category == UnicodeCategory.Control ||
                (identifier && (category is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                    || Invisible(rune.Value))))
            {
                return false;
            }

            rest = rest[used..];
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
