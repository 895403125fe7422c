using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>
/// A TCP proxy in front of PostgreSQL that can lose an acknowledgement. Armed with a marker (text of a statement of the
/// write under test, so that background work is left alone), it lets the statement that carries the marker through,
/// or the next COMMIT of the connection that sent it, and cuts the client's connection before the answer comes back.
/// The server does the work; the client cannot tell. That is the case a retry must recognise, or it writes twice (or
/// finds its own claim and refuses itself).
/// </summary>
public sealed class CuttingProxy : IAsyncDisposable
{
    private static readonly byte[] Commit = Encoding.ASCII.GetBytes("COMMIT");
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private byte[]? _marker;
    private bool _atCommit;
    private int _cuts;

    private CuttingProxy(IPEndPoint upstream) => _upstream = upstream;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many acknowledgements it has lost.</summary>
    public int Cuts => Volatile.Read(ref _cuts);

    /// <summary>Loses the answer to the next COMMIT of a connection that sends <paramref name="marker"/> first.</summary>
    public void CutCommitAfter(string marker) => Arm(marker, atCommit: true);

    /// <summary>Loses the answer to the next statement that carries <paramref name="marker"/> (one that commits on its own).</summary>
    public void CutAnswerTo(string marker) => Arm(marker, atCommit: false);

    private void Arm(string marker, bool atCommit)
    {
        Volatile.Write(ref _atCommit, atCommit);
        Volatile.Write(ref _marker, Encoding.ASCII.GetBytes(marker));
    }

    public static CuttingProxy Start(string host, int port)
    {
        var proxy = new CuttingProxy(new IPEndPoint(IPAddress.Parse(host == "localhost" ? "127.0.0.1" : host), port));
        proxy._listener.Start();
        _ = proxy.AcceptAsync();
        return proxy;
    }

    /// <summary><paramref name="connectionString"/> with its host and port changed to this proxy's.</summary>
    public string Through(string connectionString) =>
        new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = Port }.ConnectionString;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var server = new TcpClient();
        using (client)
        {
            try
            {
                await server.ConnectAsync(_upstream, _stop.Token);
                var lost = new TaskCompletionSource();
                var toServer = ToServerAsync(client.GetStream(), server.GetStream(), lost);
                var toClient = ToClientAsync(server.GetStream(), client.GetStream(), lost.Task);
                await Task.WhenAny(toServer, toClient);
                if (lost.Task.IsCompleted)
                {
                    // The client is dropped now, without the answer; the server keeps the connection a moment, so that
                    // it runs the COMMIT it has read before it sees the connection go.
                    client.Close();
                    await Task.Delay(500, CancellationToken.None);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // One side went away: the other goes too.
            }
        }
    }

    private async Task ToServerAsync(NetworkStream from, NetworkStream to, TaskCompletionSource lost)
    {
        var buffer = new byte[64 * 1024];
        var marked = false;
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return;
            }

            var marker = Volatile.Read(ref _marker);
            var carries = marker is not null && buffer.AsSpan(0, read).IndexOf(marker) >= 0;
            marked = marked || carries;
            var due = Volatile.Read(ref _atCommit) ? marked && buffer.AsSpan(0, read).IndexOf(Commit) >= 0 : carries;
            var cutsHere = due && marker is not null && Interlocked.CompareExchange(ref _marker, null, marker) == marker;
            if (cutsHere)
            {
                // Decided before the COMMIT goes, so that not one byte of its answer is relayed.
                Interlocked.Increment(ref _cuts);
                lost.TrySetResult();
            }

            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            if (cutsHere)
            {
                return;
            }
        }
    }

    private async Task ToClientAsync(NetworkStream from, NetworkStream to, Task lost)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0 || lost.IsCompleted)
            {
                return;
            }

            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }
}
