using System.Diagnostics;
using System.Text;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>The built service run as its own process, as an operator or a deployment runs it.</summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private int _disposed;

    private ServiceProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Runs an operator command to its end.</summary>
    public static Task<(int Exit, string Stdout, string Stderr)> RunCommandAsync(string connectionString, params string[] args) =>
        RunCommandAsync(connectionString, new Dictionary<string, string>(), args);

    /// <summary>Runs the service with these arguments and extra environment variables to its end.</summary>
    public static async Task<(int Exit, string Stdout, string Stderr)> RunCommandAsync(
        string connectionString, IDictionary<string, string> environment, params string[] args)
    {
        var start = StartInfo(connectionString, args);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts the HTTP service on a free port; wait for it with <see cref="WaitUntilReadyAsync"/>.</summary>
    public static ServiceProcess StartServer(string connectionString, IDictionary<string, string>? settings = null)
    {
        var address = new Uri($"http://127.0.0.1:{TestPostgres.FreePort()}");
        var start = StartInfo(connectionString, ["--urls", address.ToString()]);
        start.Environment["Auth__SigningKey"] = ApiFixture.SigningKey;
        start.Environment["Auth__Issuer"] = ApiFixture.Issuer;
        start.Environment["RateLimiting__TokenLimit"] = "1000000";
        start.Environment["RateLimiting__TokensPerPeriod"] = "1000000";
        start.Environment["Login__MaxFailuresPerAccount"] = "1000000";
        start.Environment["Login__MaxFailuresPerAddress"] = "1000000";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        var server = new ServiceProcess(process, address);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    public async Task WaitUntilReadyAsync()
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var ready = await client.GetAsync("/readyz");
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The service did not become ready:\n{Output}");
    }

    /// <summary>A client of this process that sends <paramref name="bearerToken"/>.</summary>
    public HttpClient Client(string bearerToken)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearerToken);
        return client;
    }

    /// <summary>A new account in <paramref name="connectionString"/>'s database (by the operator command), and a token of its test key from this process.</summary>
    public async Task<string> NewAccountTokenAsync(string connectionString, string name)
    {
        var (exit, stdout, stderr) = await RunCommandAsync(connectionString, "accounts", "create", "--name", name);
        Assert.True(exit == 0, stderr);
        var account = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        using var client = new HttpClient { BaseAddress = BaseAddress };
        return await ApiFixture.LoginAsync(client, account.GetProperty("account_id").GetString()!, account.GetProperty("test_key").GetString()!);
    }

    /// <summary>
    /// Stops the service as an operator does (SIGTERM), so that it flushes its logs, and waits for it and the end of its
    /// output; then <see cref="Output"/> is everything it wrote.
    /// </summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>Kills the process (as a crash would) and waits for the end of its output; more than once is fine.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static ProcessStartInfo StartInfo(string connectionString, string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Flatpeak.Devices.Api.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["ConnectionStrings__Postgres"] = connectionString;
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        return start;
    }
}
