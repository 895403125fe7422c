using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>
/// PgBouncer (the Debian package's binary) in transaction pooling mode in front of the test cluster, as a deployment
/// of many instances runs it (docs/operations.md, "Behind PgBouncer"); every database name is passed through.
/// </summary>
public sealed class TestPgBouncer : IAsyncDisposable
{
    private static readonly string[] Binaries = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"];
    private readonly Process _process;
    private readonly string _root;

    private TestPgBouncer(Process process, string root, int port)
    {
        _process = process;
        _root = root;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The same database, user and settings as <paramref name="direct"/>, through this pooler.</summary>
    public string Through(string direct) =>
        new NpgsqlConnectionStringBuilder(direct) { Host = "127.0.0.1", Port = Port }.ConnectionString;

    public static async Task<TestPgBouncer> StartAsync(string postgres)
    {
        var binary = Binaries.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("PgBouncer is missing: apt-get install pgbouncer (.ci/run installs it).");
        var server = new NpgsqlConnectionStringBuilder(postgres);
        var root = Path.Combine(Path.GetTempPath(), "flatpeak-test-pgbouncer-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        var port = TestPostgres.FreePort();
        await File.WriteAllTextAsync(Path.Combine(root, "userlist.txt"), $"\"{server.Username}\" \"\"\n");
        await File.WriteAllTextAsync(Path.Combine(root, "pgbouncer.ini"), $"""
            [databases]
            * = host={server.Host} port={server.Port}

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = trust
            auth_file = {root}/userlist.txt
            pool_mode = transaction
            max_client_conn = 1000
            default_pool_size = 40
            logfile = {root}/pgbouncer.log
            """);
        // Quiet (-q): its log goes to logfile only, never to a pipe no one reads.
        var start = new ProcessStartInfo { FileName = binary, ArgumentList = { "-q" } };
        if (Environment.IsPrivilegedProcess)
        {
            // PgBouncer refuses to run as root.
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add("postgres");
            Process.Start("chown", ["-R", "postgres", root])!.WaitForExit();
        }

        start.ArgumentList.Add(Path.Combine(root, "pgbouncer.ini"));
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start PgBouncer.");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return new TestPgBouncer(process, root, port);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                var log = Path.Combine(root, "pgbouncer.log");
                throw new InvalidOperationException($"PgBouncer did not listen: {(File.Exists(log) ? await File.ReadAllTextAsync(log) : "no log")}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
