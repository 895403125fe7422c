using System.Text.Json;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Accounts;

public sealed record AccountCreated(string AccountId, string TestKey, string LiveKey);

/// <summary>
/// The operator's commands, run through the service's own entry point (there is no dashboard):
/// <c>accounts create --name NAME</c>, <c>keys create --account ID --mode test|live</c>, <c>keys revoke --account ID --key KEY</c>.
/// Results go to stdout, everything else (logs, errors) to stderr.
/// </summary>
public static class OperatorCommands
{
    /// <summary>The commands and their options, one a line (the service's --help lists them too).</summary>
    public const string Commands = """
          accounts create --name NAME
          keys create --account ACCOUNT_ID --mode test|live
          keys revoke --account ACCOUNT_ID --key API_KEY
        """;

    private const string Usage = "usage:\n" + Commands;

    /// <summary>
    /// Whether the arguments name a command: the first one is a word, not a host option (<c>--urls …</c>) or a
    /// configuration value (<c>Key=value</c>). A word that is no command gets the usage and exit code 2, rather than
    /// silently starting the HTTP service.
    /// </summary>
    public static bool IsInvocation(string[] args) => args is [var first, ..] && !first.StartsWith('-') && !first.Contains('=', StringComparison.Ordinal);

    /// <summary>Keeps stdout for the command's result: logs go to stderr, and only warnings.</summary>
    public static WebApplicationBuilder AddOperatorCommands(this WebApplicationBuilder builder, string[] args)
    {
        if (IsInvocation(args))
        {
            builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        }

        return builder;
    }

    public static async Task<int> RunAsync(IServiceProvider services, string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var options = args is ["accounts", "create", ..] or ["keys", "create" or "revoke", ..] ? ParseOptions(args.AsSpan(2)) : null;
        if (options is null)
        {
            await stderr.WriteLineAsync(Usage);
            return 2;
        }

        // Commands need the database's settings (a missing connection string is one line here), not the signing key.
        _ = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DatabaseOptions>>().Value;

        await services.MigrateDatabaseAsync(cancellationToken);
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
        var now = scope.ServiceProvider.GetRequiredService<TimeProvider>().GetUtcNow().TruncateToSeconds();

        switch (args[0], args[1])
        {
            case ("accounts", "create") when options.TryGetValue("name", out var name) && Validation.IsCleanText(name):
                {
                    var account = new Account { Id = ObjectIds.New(ObjectIds.Account, now), Name = name, TimeCreated = now };
                    account.Keys.Add(ApiKeySecrets.NewKey(account.Id, liveMode: false, now, out var testKey));
                    account.Keys.Add(ApiKeySecrets.NewKey(account.Id, liveMode: true, now, out var liveKey));
                    db.Accounts.Add(account);
                    await db.SaveChangesAsync(cancellationToken);
                    await stdout.WriteLineAsync(JsonSerializer.Serialize(new AccountCreated(account.Id, testKey, liveKey), ApiJsonContext.Default.AccountCreated));
                    return 0;
                }

            case ("keys", "create") when options.TryGetValue("account", out var accountId) && options.TryGetValue("mode", out var mode) && mode is "test" or "live":
                {
                    if (!await db.Accounts.AnyAsync(a => a.Id == accountId, cancellationToken))
                    {
                        await stderr.WriteLineAsync($"no such account: {accountId}");
                        return 1;
                    }

                    db.ApiKeys.Add(ApiKeySecrets.NewKey(accountId, mode == "live", now, out var key));
                    await db.SaveChangesAsync(cancellationToken);
                    await stdout.WriteLineAsync(key);
                    return 0;
                }

            case ("keys", "revoke") when options.TryGetValue("account", out var accountId) && options.TryGetValue("key", out var key):
                {
                    var hash = ApiKeySecrets.Hash(key);
                    var revoked = await db.ApiKeys
                        .Where(k => k.AccountId == accountId && k.KeyHash == hash && k.TimeRevoked == null)
                        .ExecuteUpdateAsync(k => k.SetProperty(x => x.TimeRevoked, now), cancellationToken);
                    if (revoked == 0)
                    {
                        await stderr.WriteLineAsync($"no such active key for account {accountId}");
                        return 1;
                    }

                    await stdout.WriteLineAsync($"revoked {ApiKeySecrets.DisplayPrefix(key)}… of {accountId}");
                    return 0;
                }

            default:
                await stderr.WriteLineAsync(Usage);
                return 2;
        }
    }

    private static Dictionary<string, string>? ParseOptions(ReadOnlySpan<string> args)
    {
        if (args.Length % 2 != 0)
        {
            return null;
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || !options.TryAdd(args[i][2..], args[i + 1]))
            {
                return null;
            }
        }

        return options;
    }
}
