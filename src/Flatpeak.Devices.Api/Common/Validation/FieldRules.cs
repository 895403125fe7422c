using FluentValidation;

namespace Flatpeak.Devices.Api.Common;

/// <summary>Rules shared by every request validator, with Flatpeak-style codes (<c>&lt;field&gt;_missing</c>, <c>&lt;field&gt;_invalid</c>).</summary>
public static class FieldRules
{
    public const int MaxTextLength = 255;

    /// <summary>A text field that must be there; <paramref name="whenNull"/> is the code for null (default <c>&lt;field&gt;_missing</c>).</summary>
    public static IRuleBuilderOptions<T, string?> RequiredText<T>(this IRuleBuilder<T, string?> rule, string wireName, string? whenNull = null) =>
        rule.NotNull().WithErrorCode(whenNull ?? Missing(wireName)).WithMessage($"{wireName} is required.")
            .Must(t => Validation.IsCleanText(t)).WithErrorCode(Invalid(wireName)).WithMessage(CleanTextMessage(wireName));

    public static IRuleBuilderOptions<T, string?> OptionalText<T>(this IRuleBuilder<T, string?> rule, string wireName) =>
        rule.Must(t => t is null || Validation.IsCleanText(t)).WithErrorCode(Invalid(wireName)).WithMessage(CleanTextMessage(wireName));

    /// <summary>An identifier that must be there (see <see cref="Validation.IsCleanIdentifier"/>).</summary>
    public static IRuleBuilderOptions<T, string?> RequiredIdentifier<T>(this IRuleBuilder<T, string?> rule, string wireName) =>
        rule.NotNull().WithErrorCode(Missing(wireName)).WithMessage($"{wireName} is required.")
            .Must(t => Validation.IsCleanIdentifier(t)).WithErrorCode(Invalid(wireName)).WithMessage(IdentifierMessage(wireName));

    public static IRuleBuilderOptions<T, string?> OptionalIdentifier<T>(this IRuleBuilder<T, string?> rule, string wireName) =>
        rule.Must(t => t is null || Validation.IsCleanIdentifier(t)).WithErrorCode(Invalid(wireName)).WithMessage(IdentifierMessage(wireName));

    /// <summary>An id of the named kind of object (<c>prefix_</c> and 24 lowercase hex digits), when given.</summary>
    public static IRuleBuilderOptions<T, string?> OptionalObjectId<T>(this IRuleBuilder<T, string?> rule, string wireName, string prefix, string objectName) =>
        rule.Must(id => id is null || ObjectIds.IsValid(id, prefix)).WithErrorCode(Invalid(wireName))
            .WithMessage($"{wireName} must be a{(objectName[0] is 'a' or 'e' or 'i' or 'o' or 'u' ? "n" : "")} {objectName} id ('{prefix}_' and 24 lowercase hex digits).");

    public static IRuleBuilderOptions<T, double?> InRange<T>(this IRuleBuilder<T, double?> rule, string wireName, NumberRange range) =>
        rule.Must(v => v is null || range.Contains(v.Value)).WithErrorCode(Invalid(wireName))
            .WithMessage($"{wireName} must be {range}.");

    public static string Missing(string wireName) => LastSegment(wireName) + "_missing";

    public static string Invalid(string wireName) => LastSegment(wireName) + "_invalid";

    private static string CleanTextMessage(string wireName) =>
        $"{wireName} must be 1 to {MaxTextLength} characters, without control characters.";

    private static string IdentifierMessage(string wireName) =>
        $"{wireName} must be 1 to {MaxTextLength} characters, not blank, without control, invisible or direction-changing characters.";

    private static string LastSegment(string wireName) => wireName[(wireName.LastIndexOf('.') + 1)..];
}
