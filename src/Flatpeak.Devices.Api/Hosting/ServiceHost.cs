using Flatpeak.Devices.Api.Accounts;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Api.Hosting;

public static class ServiceHost
{
    public static IServiceCollection AddServiceBasics(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ObjectIds>();
        services.AddRequestIds();
        // The timestamp format is shared by the console formatters; the JSON one writes it as a field of its own, the
        // simple one glues it to the level ("…470Zwarn:") unless it ends with a space.
        services.PostConfigure<Microsoft.Extensions.Logging.Console.SimpleConsoleFormatterOptions>(
            o => o.TimestampFormat = o.TimestampFormat is { Length: > 0 } format && !format.EndsWith(' ') ? format + " " : o.TimestampFormat);
        services.AddSingleton<Idempotency.IdempotencyKeyPruner>();
        services.AddHostedService(sp => sp.GetRequiredService<Idempotency.IdempotencyKeyPruner>());
        return services;
    }

    /// <summary>
    /// The whole life of the process: the command line (<c>--help</c>, usage errors), the configuration check, the
    /// services and the pipeline, then an operator command or the HTTP service until stopped. What an operator can
    /// fix (configuration, a database out of reach at start) ends the process with one line on stderr and exit code 1,
    /// not a stack trace.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, Action<WebApplicationBuilder> addServices, Action<WebApplication> usePipeline)
    {
        // A test host (WebApplicationFactory) runs this too, with the settings it was given as arguments: it gets the
        // exceptions themselves, to show, not one line on a console it does not read.
        if (OwnsProcess && CommandLine.Handle(args, Console.Out, Console.Error) is { } exit)
        {
            return exit;
        }

        try
        {
            var builder = WebApplication.CreateBuilder(args);
            ConfigurationCheck.ThrowIfInvalid(builder.Configuration);
            addServices(builder);
            var app = builder.Build();
            usePipeline(app);
            if (OperatorCommands.IsInvocation(args))
            {
                return await OperatorCommands.RunAsync(app.Services, args, Console.Out, Console.Error);
            }

            // Checked before the host starts, which would otherwise log the failure with its stack trace.
            app.Services.GetService<IStartupValidator>()?.Validate();
            if (app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value.MigrateOnStartup)
            {
                // Before the host starts, so that the server takes no request on an old schema, and a database out of
                // reach is one line, not the host's stack trace.
                await app.Services.MigrateDatabaseAsync();
            }

            await app.RunAsync();
            return 0;
        }
        catch (ConfigurationException e) when (OwnsProcess)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 1;
        }
        catch (OptionsValidationException e) when (OwnsProcess)
        {
            await Console.Error.WriteLineAsync("Configuration error: " + string.Join(" ", e.Failures));
            return 1;
        }
        catch (Exception e) when (OwnsProcess && DatabaseError(e) is { } database)
        {
            await Console.Error.WriteLineAsync($"Database error: {database.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
    }

    /// <summary>Whether this is the service's own process (not a test host that runs its entry point).</summary>
    private static bool OwnsProcess => System.Reflection.Assembly.GetEntryAssembly() == typeof(ServiceHost).Assembly;

    /// <summary>The database's own failure inside <paramref name="exception"/> (unreachable, refused, wrong password), if it is one.</summary>
    private static Exception? DatabaseError(Exception? exception) => ErrorHandling.InChain(exception, e => e is Npgsql.NpgsqlException);

}
