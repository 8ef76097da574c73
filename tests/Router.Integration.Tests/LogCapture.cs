using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Router.Integration.Tests;

/// <summary>Values that must never appear in a log line: issued keys, configured secrets and test prompts.</summary>
public static class SensitiveValues
{
    private static readonly ConcurrentDictionary<string, byte> Values = new(StringComparer.Ordinal);

    /// <summary>Adds a value to watch for (short values are ignored: they would match by accident).</summary>
    public static string Register(string value)
    {
        if (value.Length >= 12)
        {
            Values.TryAdd(value, 0);
        }

        return value;
    }

    /// <summary>The first watched value that occurs in <paramref name="line"/>, or null.</summary>
    public static string? FoundIn(string line) => Values.Keys.FirstOrDefault(v => line.Contains(v, StringComparison.Ordinal));
}

/// <summary>Captures every log line a router host writes, for the check that no secret or prompt is logged.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Throws when a captured line contains a watched value.</summary>
    public void AssertNoSensitiveValues()
    {
        foreach (var line in _lines)
        {
            if (SensitiveValues.FoundIn(line) is { } found)
            {
                throw new InvalidOperationException($"A log line contains a key or prompt ('{found[..6]}…'): {line.Replace(found, "<redacted>", StringComparison.Ordinal)}");
            }
        }
    }

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var structured = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}"))
                : "";
            capture._lines.Enqueue($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)} {structured} {exception}");
        }
    }
}
