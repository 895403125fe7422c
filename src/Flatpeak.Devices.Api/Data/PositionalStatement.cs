using System.Data.Common;
using System.Text.RegularExpressions;
using Npgsql;

namespace Flatpeak.Devices.Api.Data;

/// <summary>
/// A statement written with named parameters (<c>@name</c>) and sent with positional ones (<c>$1</c>…): Npgsql then
/// sends the text as it is (no parsing, no rewriting per call) and prepares it on each connection after a few uses.
/// The hot write path's statements go this way, on the DbContext's own connection and transaction.
/// </summary>
public sealed partial class PositionalStatement
{
    private readonly string[] _names;

    public PositionalStatement(string namedSql)
    {
        var names = new List<string>();
        Sql = Named().Replace(namedSql, match =>
        {
            var index = names.IndexOf(match.Groups[1].Value);
            if (index < 0)
            {
                names.Add(match.Groups[1].Value);
                index = names.Count - 1;
            }

            return "$" + (index + 1);
        });
        _names = [.. names];
    }

    /// <summary>The text sent, with positional parameters.</summary>
    public string Sql { get; }

    /// <summary>A command with <paramref name="parameters"/> (named as in the written statement) put in position.</summary>
    public NpgsqlCommand CreateCommand(NpgsqlConnection connection, IEnumerable<DbParameter> parameters)
    {
        var byName = parameters.ToDictionary(p => p.ParameterName, StringComparer.Ordinal);
        var command = new NpgsqlCommand(Sql, connection);
        foreach (var name in _names)
        {
            var parameter = byName.TryGetValue(name, out var found)
                ? found
                : throw new InvalidOperationException($"The statement needs a parameter @{name}.");
            parameter.ParameterName = string.Empty;
            command.Parameters.Add((NpgsqlParameter)parameter);
        }

        return command;
    }

    [GeneratedRegex(@"@([a-z_][a-z0-9_]*)", RegexOptions.CultureInvariant)]
    private static partial Regex Named();
}
