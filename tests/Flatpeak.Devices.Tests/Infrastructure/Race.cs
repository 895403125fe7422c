using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>Requests raced against each other: all started at once (as far as the thread pool allows), every answer collected.</summary>
public static class Race
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>A request to race, as <see cref="RunAsync"/> takes it (spares a cast where a lambda is written inline).</summary>
    public static Func<Task<HttpResponseMessage>> Send(Func<Task<HttpResponseMessage>> send) => send;

    /// <summary>Runs the requests at once and returns each answer with the id and method it was tagged with, within <see cref="Deadline"/>.</summary>
    public static async Task<List<(string Id, HttpMethod Method, HttpStatusCode Status, JsonElement Body)>> RunAsync(
        IEnumerable<(string Id, HttpMethod Method, Func<Task<HttpResponseMessage>> Send)> requests)
    {
        using var start = new SemaphoreSlim(0);
        var list = requests.ToList();
        var running = list.Select(r => Task.Run(async () =>
        {
            await start.WaitAsync();
            using var response = await r.Send();
            return (r.Id, r.Method, response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
        })).ToList();
        start.Release(list.Count);
        var all = Task.WhenAll(running);
        Assert.True(await Task.WhenAny(all, Task.Delay(Deadline)) == all, $"the {list.Count} racing requests did not all finish within {Deadline}");
        return [.. await all];
    }
}
