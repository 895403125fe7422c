using Microsoft.AspNetCore.Mvc.Testing;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>The system clock, moved by <see cref="Offset"/>: a service given it lives that far ahead, with no sleeping.</summary>
public sealed class MovableClock : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}

/// <summary>A service on a database of its own whose clock the test moves, and a client of a new account on it.</summary>
public sealed record ClockedService(WebApplicationFactory<Program> Service, string Database, MovableClock Clock, HttpClient Client) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Service.DisposeAsync();
    }
}
