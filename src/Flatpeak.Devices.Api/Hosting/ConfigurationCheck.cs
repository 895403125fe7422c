using System.Collections;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Data.Batching;
using Flatpeak.Devices.Api.Webhooks;

namespace Flatpeak.Devices.Api.Hosting;

/// <summary>A configuration value that cannot be used; its message is the one line an operator sees.</summary>
public sealed class ConfigurationException(string message) : Exception(message);

/// <summary>
/// Checks every value of the options classes the service reads before anything uses one: each must convert to its
/// property's type and meet the property's validation attributes (the one statement of its range). A problem is
/// reported as <c>Configuration error: &lt;key&gt; …</c> on one line, and the process exits 1, rather than a stack
/// trace at start or a failure of every request later.
/// </summary>
public static class ConfigurationCheck
{
    /// <summary>Every configuration section the service binds to an options class.</summary>
    public static readonly IReadOnlyList<(string Section, Type Options)> Sections =
    [
        (AuthOptions.Section, typeof(AuthOptions)),
        (LoginThrottleOptions.Section, typeof(LoginThrottleOptions)),
        (DatabaseOptions.Section, typeof(DatabaseOptions)),
        (WritesOptions.Section, typeof(WritesOptions)),
        (DeviceStates.DeviceStateOptions.Section, typeof(DeviceStates.DeviceStateOptions)),
        (Events.EventOptions.Section, typeof(Events.EventOptions)),
        (RateLimitingOptions.Section, typeof(RateLimitingOptions)),
        (WebhookOptions.Section, typeof(WebhookOptions)),
        (TelemetryOptions.Section, typeof(TelemetryOptions)),
    ];

    /// <summary>Throws <see cref="ConfigurationException"/> naming the first value that cannot be used.</summary>
    public static void ThrowIfInvalid(IConfiguration configuration)
    {
        if (Problems(configuration).FirstOrDefault() is { } problem)
        {
            throw new ConfigurationException("Configuration error: " + problem);
        }
    }

    private static IEnumerable<string> Problems(IConfiguration configuration) =>
        Sections.SelectMany(s => ProblemsOf(configuration.GetSection(s.Section), s.Options));

    private static IEnumerable<string> ProblemsOf(IConfigurationSection section, Type options)
    {
        foreach (var property in Settable(options))
        {
            var child = section.GetSection(property.Name);
            if (ElementType(property.PropertyType) is { } element)
            {
                foreach (var item in child.GetChildren())
                {
                    var problems = IsScalar(element) ? ScalarProblems(item, element, []) : ProblemsOf(item, element);
                    foreach (var problem in problems)
                    {
                        yield return problem;
                    }
                }
            }
            else if (IsScalar(property.PropertyType))
            {
                foreach (var problem in ScalarProblems(child, property.PropertyType, property.GetCustomAttributes<ValidationAttribute>()))
                {
                    yield return problem;
                }
            }
            else
            {
                foreach (var problem in ProblemsOf(child, property.PropertyType))
                {
                    yield return problem;
                }
            }
        }
    }

    private static IEnumerable<string> ScalarProblems(IConfigurationSection setting, Type type, IEnumerable<ValidationAttribute> rules)
    {
        // Absent or empty: the default stands.
        if (setting.Value is not { Length: > 0 } raw)
        {
            yield break;
        }

        var target = Nullable.GetUnderlyingType(type) ?? type;
        object? value;
        try
        {
            value = TypeDescriptor.GetConverter(target).ConvertFromInvariantString(raw);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException)
        {
            value = null;
        }

        if (value is null && target != typeof(string))
        {
            yield return $"{setting.Path} is '{Shown(raw)}', which is not {Kind(target)}.";
            yield break;
        }

        foreach (var rule in rules.Where(r => !r.IsValid(value)))
        {
            // A text value is never repeated: it may be a secret.
            yield return rule is RangeAttribute range
                ? $"{setting.Path} is '{Shown(raw)}'; it must be from {Format(range.Minimum)} to {Format(range.Maximum)}."
                : target == typeof(string) ? $"{setting.Path}: {rule.FormatErrorMessage(setting.Path)}"
                : $"{setting.Path} is '{Shown(raw)}'; {rule.FormatErrorMessage(setting.Path)}";
        }
    }

    private static IEnumerable<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true);

    private static Type? ElementType(Type type) =>
        type != typeof(string) && type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) ? type.GetGenericArguments()[0] : null;

    private static bool IsScalar(Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target.IsPrimitive || target.IsEnum || target == typeof(string) || target == typeof(decimal) || target == typeof(TimeSpan);
    }

    private static string Kind(Type type) =>
        type == typeof(bool) ? "true or false"
        : type == typeof(int) || type == typeof(long) ? "a whole number"
        : type == typeof(double) || type == typeof(decimal) ? "a number"
        : type == typeof(TimeSpan) ? "a time span such as 00:00:30"
        : "a " + type.Name;

    private static string Format(object value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;

    /// <summary>Enough of the value to recognise it, never a whole secret.</summary>
    private static string Shown(string raw) => raw.Length <= 40 ? raw : raw[..40] + "…";
}
