using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Flatpeak.Devices.Tests.Webhooks;

/// <summary>A webhook receiver: Kestrel on a loopback port, recording every request it gets and answering as told per path.</summary>
public sealed class Receiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private Receiver(WebApplication app) => _app = app;

    public sealed record Received(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, DateTimeOffset At)
    {
        /// <summary>The id of the object the delivered event is about.</summary>
        public string ObjectId => System.Text.Json.JsonDocument.Parse(Body).RootElement.GetProperty("data").GetProperty("id").GetString()!;
    }

    public ConcurrentQueue<Received> Requests { get; } = new();

    private int _inFlight;
    private int _maxInFlight;

    /// <summary>The most requests this receiver has had open at once.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>How each path answers: given how many requests that path has had (from 1), the status (and a delay).</summary>
    public ConcurrentDictionary<string, Func<int, (int Status, TimeSpan Delay)>> Answers { get; } = new();

    public string Url(string path) => _app.Urls.First() + path;

    public IEnumerable<Received> To(string path) => Requests.Where(r => r.Path == path);

    public static async Task<Receiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new Receiver(app);
        app.Run(async http =>
        {
            var open = Interlocked.Increment(ref receiver._inFlight);
            int max;
            while (open > (max = Volatile.Read(ref receiver._maxInFlight)) && Interlocked.CompareExchange(ref receiver._maxInFlight, open, max) != max)
            {
            }

            try
            {
                await receiver.AnswerAsync(http);
            }
            finally
            {
                Interlocked.Decrement(ref receiver._inFlight);
            }
        });
        await app.StartAsync();
        return receiver;
    }

    private async Task AnswerAsync(HttpContext http)
    {
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body);
        var path = http.Request.Path.Value!;
        Requests.Enqueue(new Received(path, http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body.ToArray(), DateTimeOffset.UtcNow));
        var count = To(path).Count();
        var (status, delay) = Answers.TryGetValue(path, out var answer) ? answer(count) : (200, TimeSpan.Zero);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay);
        }

        http.Response.StatusCode = status;
        if (status is >= 300 and < 400)
        {
            http.Response.Headers.Location = Url("/redirected");
        }
        else if (status >= 400)
        {
            await http.Response.WriteAsync(new string('x', 5000));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
