using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>Keeps every log entry of a service instance, with its scopes, for tests that read the logs.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    public sealed record LogEntry(string Category, LogLevel Level, string Message, string? Exception, IReadOnlyDictionary<string, string?> ScopeValues, string AllText);

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, string?>();
            var texts = new List<string>();
            provider._scopes.ForEachScope((scope, _) =>
            {
                texts.Add(scope?.ToString() ?? string.Empty);
                if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var (key, value) in pairs)
                    {
                        values[key] = value?.ToString();
                        texts.Add($"{key}={value}");
                    }
                }
            }, (object?)null);
            if (state is IEnumerable<KeyValuePair<string, object?>> stateValues)
            {
                texts.AddRange(stateValues.Select(p => $"{p.Key}={p.Value}"));
            }

            var message = formatter(state, exception);
            provider.Entries.Enqueue(new LogEntry(category, logLevel, message, exception?.ToString(), values,
                string.Join('\n', texts.Append(message).Append(exception?.ToString() ?? string.Empty))));
        }
    }
}
