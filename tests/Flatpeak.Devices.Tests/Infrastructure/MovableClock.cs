namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>The system clock, moved by <see cref="Offset"/>: a service given it lives that far ahead, with no sleeping.</summary>
public sealed class MovableClock : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}
