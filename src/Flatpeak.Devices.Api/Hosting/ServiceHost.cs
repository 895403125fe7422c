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
        services.AddHostedService<MigrateOnStartup>();
        services.AddSingleton<Idempotency.IdempotencyKeyPruner>();
        services.AddHostedService(sp => sp.GetRequiredService<Idempotency.IdempotencyKeyPruner>());
        return services;
    }

    /// <summary>Runs an operator command when the arguments name one, otherwise serves HTTP until stopped.</summary>
    /// <summary>A configuration error ends the process with one line on stderr and exit code 1, not a stack trace.</summary>
    public static async Task<int> RunServiceOrCommandAsync(this WebApplication app, string[] args)
    {
        try
        {
            if (OperatorCommands.IsInvocation(args))
            {
                return await OperatorCommands.RunAsync(app.Services, args, Console.Out, Console.Error);
            }

            // Checked before the host starts, which would otherwise log the failure with its stack trace.
            app.Services.GetService<IStartupValidator>()?.Validate();
            await app.RunAsync();
            return 0;
        }
        catch (OptionsValidationException e)
        {
            await Console.Error.WriteLineAsync("Configuration error: " + string.Join(" ", e.Failures));
            return 1;
        }
    }

    /// <summary>Applies pending migrations before the server takes requests (hosted services start first).</summary>
    private sealed class MigrateOnStartup(IServiceProvider services, IOptions<DatabaseOptions> options) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) =>
            options.Value.MigrateOnStartup ? services.MigrateDatabaseAsync(cancellationToken) : Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
