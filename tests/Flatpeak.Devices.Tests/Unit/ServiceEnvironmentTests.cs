using System.Diagnostics;
using System.Globalization;

namespace Flatpeak.Devices.Tests.Unit;

/// <summary>service.env, the runtime environment every launcher sources next to the service's dll (docs/operations.md, "Configuration reference").</summary>
public sealed class ServiceEnvironmentTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData("0x2000000", "0x2000000")]
    [InlineData("", "")]
    public async Task It_ships_with_the_build_and_sets_the_gen0_budget_unless_the_caller_did(string? outside, string? expected)
    {
        var file = Path.Combine(AppContext.BaseDirectory, "service.env");
        Assert.True(File.Exists(file), "service.env is not copied next to the service's dll.");

        var start = new ProcessStartInfo("/bin/sh", ["-c", "set -a && . ./service.env && set +a && printf %s \"${DOTNET_GCgen0size-unset}\""])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("DOTNET_GCgen0size");
        if (outside is not null)
        {
            start.Environment["DOTNET_GCgen0size"] = outside;
        }

        using var shell = Process.Start(start)!;
        var output = shell.StandardOutput.ReadToEndAsync();
        var errors = shell.StandardError.ReadToEndAsync();
        await shell.WaitForExitAsync();

        Assert.True(shell.ExitCode == 0, await errors);
        if (expected is null)
        {
            // Its own value: a budget in hexadecimal, as the runtime reads it, of at least 1 MiB.
            var budget = await output;
            Assert.StartsWith("0x", budget, StringComparison.Ordinal);
            Assert.True(long.Parse(budget[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) >= 1024 * 1024, budget);
        }
        else
        {
            Assert.Equal(expected, await output);
        }
    }
}
