namespace Flatpeak.Devices.Api.Common;

/// <summary>The range a number field must be in; validators enforce it and the OpenAPI document states it.</summary>
public sealed record NumberRange(double Minimum, double? Maximum)
{
    public static NumberRange AtLeast(double minimum) => new(minimum, null);

    public static NumberRange Between(double minimum, double maximum) => new(minimum, maximum);

    public bool Contains(double value) => double.IsFinite(value) && value >= Minimum && (Maximum is null || value <= Maximum);

    public override string ToString() => Maximum is null ? $"a number of at least {Minimum}" : $"a number from {Minimum} to {Maximum}";
}
