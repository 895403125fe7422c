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
    private readonly Dictionary<string, int> _positions;

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
        _positions = names.Select((name, index) => (name, index)).ToDictionary(p => p.name, p => p.index, StringComparer.Ordinal);
    }

    /// <summary>The text sent, with positional parameters.</summary>
    public string Sql { get; }

    /// <summary>A command with <paramref name="parameters"/> (named as in the written statement) put in position.</summary>
    /// <remarks>Parameters the statement does not name are left out; a name given twice is an error.</remarks>
    public NpgsqlCommand CreateCommand(NpgsqlConnection connection, IEnumerable<DbParameter> parameters)
    {
        var placed = new NpgsqlParameter?[_names.Length];
        foreach (var parameter in parameters)
        {
            if (_positions.TryGetValue(parameter.ParameterName, out var position))
            {
                placed[position] = placed[position] is null
                    ? (NpgsqlParameter)parameter
                    : throw new InvalidOperationException($"The parameter @{parameter.ParameterName} is given twice.");
            }
        }

        var command = new NpgsqlCommand(Sql, connection);
        for (var position = 0; position < placed.Length; position++)
        {
            var parameter = placed[position] ?? throw new InvalidOperationException($"The statement needs a parameter @{_names[position]}.");
            parameter.ParameterName = string.Empty;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    [GeneratedRegex(@"@([a-z_][a-z0-9_]*)", RegexOptions.CultureInvariant)]
    private static partial Regex Named();
}
