using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>
/// The service's logs in the output of the test that is running, so that a failing test shows what the server said
/// (a 500's stack, a warning). A collection runs its tests one after another: its fixture's provider writes to
/// whichever test set <see cref="Output"/>, and drops lines logged between tests (by background work).
/// </summary>
public sealed class TestOutputLoggerProvider : ILoggerProvider
{
    private ITestOutputHelper? _output;

    public ITestOutputHelper? Output
    {
        get => Volatile.Read(ref _output);
        set => Volatile.Write(ref _output, value);
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Write(string line)
    {
        try
        {
            Output?.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test ended while the line was on its way.
        }
    }

    private sealed class Logger(TestOutputLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"[server {logLevel}] {category}: {formatter(state, exception)}";
            provider.Write(exception is null ? line : line + Environment.NewLine + exception);
        }
    }
}
