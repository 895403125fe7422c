namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// Remembers which properties a JSON body set, for partial updates: System.Text.Json calls a property's setter
/// only when the body has it, so "left out" (keep) and "null" (clear) can be told apart. The properties need
/// <c>set</c>, not <c>init</c>: for init-only properties the source generator assigns every one, sent or not.
/// </summary>
public sealed class SentFields
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public T Mark<T>(string name, T value)
    {
        _names.Add(name);
        return value;
    }

    public bool Contains(string name) => _names.Contains(name);
}
