namespace Flatpeak.Devices.Api.Hosting;

/// <summary>
/// The service's command line before anything starts: <c>--help</c> prints the usage (exit 0); an option that is
/// neither a host setting nor a configuration key (<c>--Section:Key value</c>) is refused (exit 2) rather than
/// silently ignored while the service starts. Operator commands parse their own options.
/// </summary>
public static class CommandLine
{
    public const string Usage = $"""
        usage: Flatpeak.Devices.Api [--urls URLS] [--Section:Key VALUE ...]
               Flatpeak.Devices.Api COMMAND [OPTIONS]

        Serves the API over HTTP (ConnectionStrings:Postgres and Auth:SigningKey must be set; every
        configuration key can also be given as an environment variable, Section__Key=VALUE).

        commands:
        {Accounts.OperatorCommands.Commands}

        exit codes: 0 stopped normally or command done; 1 configuration or database error at start,
        or a command failed; 2 usage error. The configuration keys are listed in docs/operations.md.
        """;

    /// <summary>
    /// What an option may name: a setting of the host, which ASP.NET Core reads from the command line (the keys of
    /// <see cref="Microsoft.AspNetCore.Hosting.WebHostDefaults"/> and <see cref="HostDefaults"/>), or a configuration
    /// section the service reads, whole (<c>--Section=</c>) or by key (<c>--Section:Key</c>).
    /// </summary>
    private static readonly HashSet<string> KnownNames = new(
        [
            .. HostSettingKeys(typeof(Microsoft.AspNetCore.Hosting.WebHostDefaults)),
            .. HostSettingKeys(typeof(HostDefaults)),
            "urls", "hostBuilder", "ConnectionStrings", "Logging", "AllowedHosts", "Kestrel", .. ConfigurationCheck.Sections.Select(s => s.Section),
        ],
        StringComparer.OrdinalIgnoreCase);

    private static IEnumerable<string> HostSettingKeys(Type defaults) =>
        defaults.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string) && f.Name.EndsWith("Key", StringComparison.Ordinal))
            .Select(f => (string)f.GetRawConstantValue()!);

    /// <summary>An exit code when the command line ends the process before it starts (help, a usage error); otherwise null.</summary>
    public static int? Handle(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args is ["--help" or "-h" or "help"])
        {
            stdout.WriteLine(Usage);
            return 0;
        }

        if (Accounts.OperatorCommands.IsInvocation(args))
        {
            return null;
        }

        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-'))
            {
                continue;
            }

            var name = arg.TrimStart('-').Split('=', 2)[0];
            if (name is "help" or "h" || !KnownNames.Contains(name.Split(':', 2)[0]))
            {
                stderr.WriteLine(name is "help" or "h"
                    ? $"{arg} stands alone; see --help."
                    : $"unknown option {arg}: neither a host option (--urls, --environment, …) nor a key of a configuration section the service reads (--Section:Key); see --help.");
                return 2;
            }

            if (!arg.Contains('=', StringComparison.Ordinal))
            {
                i++; // its value
            }
        }

        return null;
    }
}
