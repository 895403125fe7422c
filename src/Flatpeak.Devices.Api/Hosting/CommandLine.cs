namespace Flatpeak.Devices.Api.Hosting;

/// <summary>
/// The service's command line before anything starts: <c>--help</c> prints the usage (exit 0); an option that is
/// neither a host setting nor a configuration key (<c>--Section:Key value</c>) is refused (exit 2) rather than
/// silently ignored while the service starts. Operator commands parse their own options.
/// </summary>
public static class CommandLine
{
    public const string Usage = """
        usage: Flatpeak.Devices.Api [--urls URLS] [--Section:Key VALUE ...]
               Flatpeak.Devices.Api COMMAND [OPTIONS]

        Serves the API over HTTP (ConnectionStrings:Postgres and Auth:SigningKey must be set; every
        configuration key can also be given as an environment variable, Section__Key=VALUE).

        commands:
          accounts create --name NAME
          keys create --account ACCOUNT_ID --mode test|live
          keys revoke --account ACCOUNT_ID --key API_KEY

        exit codes: 0 stopped normally or command done; 1 configuration or database error at start,
        or a command failed; 2 usage error. The configuration keys are listed in the README.
        """;

    /// <summary>
    /// What an option may name: the host's own settings, which ASP.NET Core reads from the command line, and the
    /// configuration sections the service reads (given whole, <c>--Section=</c>, or by key, <c>--Section:Key</c>).
    /// </summary>
    private static readonly HashSet<string> KnownNames = new(
        [
            "urls", "environment", "contentRoot", "applicationName", "http_ports", "https_ports", "webroot", "hostingStartupAssemblies",
            "ConnectionStrings", "Logging", "AllowedHosts", "Kestrel", .. ConfigurationCheck.Sections.Select(s => s.Section),
        ],
        StringComparer.OrdinalIgnoreCase);

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
            if (name is "help" or "h" || !(KnownNames.Contains(name) || name.Contains(':', StringComparison.Ordinal)))
            {
                stderr.WriteLine(name is "help" or "h"
                    ? $"{arg} stands alone; see --help."
                    : $"unknown option {arg}: neither a host option (--urls, --environment, …) nor a configuration key (--Section:Key); see --help.");
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
