using System.Reflection;
using System.Text.RegularExpressions;
using Flatpeak.Devices.Api.Hosting;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Unit;

/// <summary>docs/operations.md's configuration reference names every key the service reads, and no key it does not.</summary>
public sealed partial class ConfigurationReferenceTests
{
    [Fact]
    public void Every_key_of_the_options_classes_has_a_row_and_every_row_of_theirs_is_a_key()
    {
        var documented = DocumentedKeys();
        var read = ConfigurationCheck.Sections.SelectMany(s => Keys(s.Section, s.Options)).ToList();

        // Compared as lists, so that a failure names the keys.
        Assert.Equal([], read.Except(documented).ToList());
        var sections = ConfigurationCheck.Sections.Select(s => s.Section + ":").ToList();
        Assert.Equal([], documented.Where(key => sections.Any(s => key.StartsWith(s, StringComparison.Ordinal))).Except(read).ToList());
    }

    [Fact]
    public void The_connection_strings_have_rows()
    {
        var documented = DocumentedKeys();

        Assert.Contains("ConnectionStrings:" + Flatpeak.Devices.Api.Data.DataExtensions.ConnectionStringName, documented);
        Assert.Contains("ConnectionStrings:" + Flatpeak.Devices.Api.Data.DataExtensions.DirectConnectionStringName, documented);
    }

    /// <summary>The keys of an options class: <c>Section:Property</c>, a list's items as <c>:N</c>, nested classes' properties under theirs.</summary>
    private static IEnumerable<string> Keys(string prefix, Type options)
    {
        foreach (var property in options.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true))
        {
            var key = $"{prefix}:{property.Name}";
            var type = property.PropertyType;
            var element = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0] : null;
            if (element is null)
            {
                yield return key;
            }
            else if (IsScalar(element))
            {
                yield return key + ":N";
            }
            else
            {
                foreach (var nested in Keys(key + ":N", element))
                {
                    yield return nested;
                }
            }
        }
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(TimeSpan) || type == typeof(decimal);

    /// <summary>The first column of each row of the reference's tables: a key in backticks.</summary>
    private static HashSet<string> DocumentedKeys()
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root, "docs", "operations.md"));
        var start = text.IndexOf("\n## Configuration reference", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/operations.md has a section '## Configuration reference'");
        var end = text.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = end < 0 ? text[start..] : text[start..end];
        return [.. Row().Matches(section).Select(m => m.Groups[1].Value)];
    }

    [GeneratedRegex(@"^\|\s*`([A-Za-z][A-Za-z0-9_:]*)`", RegexOptions.Multiline)]
    private static partial Regex Row();
}
