using System.Diagnostics;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>The repository the tests run from: its files, and its scripts run as a reader of the docs would run them.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>Runs a script of the repository with bash; returns its exit code, standard output and standard error.</summary>
    public static async Task<(int Exit, string Stdout, string Stderr)> RunScriptAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(Root, script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {script}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Flatpeak.Devices.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("The repository root was not found.");
    }
}
