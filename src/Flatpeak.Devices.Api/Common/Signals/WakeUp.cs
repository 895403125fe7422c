namespace Flatpeak.Devices.Api.Common;

/// <summary>Wakes one waiting loop: calls to <see cref="Now"/> before it waits wake it once; after disposal they do nothing.</summary>
public class WakeUp : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Now()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
        catch (ObjectDisposedException)
        {
            // Stopping.
        }
    }

    /// <summary>True when woken, false when the timeout passed.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public Task WaitAsync(CancellationToken cancellationToken) => _signal.WaitAsync(cancellationToken);

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _signal.Dispose();
        }
    }
}
