using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Flatpeak.Devices.Api.Data.Batching;

/// <summary>
/// Natural batching ("group commit") of one kind of write. A request queues its write and awaits the outcome; a few
/// writer loops (<see cref="WritesOptions.Writers"/>) each take whatever is queued, up to
/// <see cref="WritesOptions.MaxBatchSize"/>, and send it as one statement. There is no timer: a lone write goes out at
/// once, and writes wait only while every writer has a statement in flight, so batches grow with the load.
/// <list type="bullet">
/// <item>Each write gets its own outcome, and is answered only after the commit that holds it.</item>
/// <item>A write whose request is cancelled (its client gone, or its time budget spent) while it waits in the queue
/// is never sent. A statement in flight is cancelled when one of its requests is; the others are written alone.</item>
/// <item>A statement that fails stores none of its writes (it is one transaction). Those a lost acknowledgement may
/// hide are looked up in one query; the rest are then sent one after the other, each alone, each retried after a
/// fault a new attempt can clear. A write that still fails gets its own failure, never another write's outcome.</item>
/// </list>
/// With <see cref="WritesOptions.Batching"/> off, a request sends its own write the same way, alone.
/// </summary>
public sealed class WriteBatcher<TItem, TOutcome> : IHostedService
    where TOutcome : class
{
    private const int AttemptsAlone = 3;

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>();
    private readonly IBatchedWrite<TItem, TOutcome> _write;
    private readonly NpgsqlDataSource _database;
    private readonly WriteMetrics _metrics;
    private readonly WritesOptions _options;
    private readonly ILogger _logger;
    private Task[] _writers = [];

    public WriteBatcher(
        IBatchedWrite<TItem, TOutcome> write, NpgsqlDataSource database, WriteMetrics metrics, IOptions<WritesOptions> options, ILogger<WriteBatcher<TItem, TOutcome>> logger)
    {
        _write = write;
        _database = database;
        _metrics = metrics;
        _options = options.Value;
        _logger = logger;
        metrics.ObserveQueue(write.Kind, () => Queued);
    }

    /// <summary>Writes waiting for a writer.</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>Writes <paramref name="item"/> (in a shared statement when batching) and returns its outcome once committed.</summary>
    public Task<TOutcome> WriteAsync(TItem item, CancellationToken cancellationToken)
    {
        if (!_options.Batching)
        {
            return WriteAloneAsync(item, cancellationToken);
        }

        var pending = new Pending(item, cancellationToken);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("The service is stopping; the write was not queued.");
        }

        return pending.Outcome;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Batching)
        {
            _writers = [.. Enumerable.Range(0, _options.Writers).Select(_ => Task.Run(WriteQueuedAsync, CancellationToken.None))];
        }

        return Task.CompletedTask;
    }

    /// <summary>The web server stops first and waits for its requests, so the queue is empty by now; what is left is written.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_writers).WaitAsync(cancellationToken);
    }

    private async Task WriteQueuedAsync()
    {
        var batch = new List<Pending>(_options.MaxBatchSize);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _options.MaxBatchSize && _queue.Reader.TryRead(out var pending))
            {
                if (pending.TryTake())
                {
                    batch.Add(pending);
                }
            }

            if (batch.Count > 0)
            {
                await WriteBatchAsync(batch);
            }
        }
    }

    /// <summary>
    /// Sends a batch; never throws: each write's outcome or failure goes to its own request. The statement is
    /// cancelled as soon as one of its requests has gone (its client, or its time budget), so that no request waits
    /// past its budget for a statement it shares; the others are then written alone. A request is answered only after
    /// its statement has ended, so a failure answered never hides a write that commits later.
    /// </summary>
    private async Task WriteBatchAsync(List<Pending> batch)
    {
        TItem[] items = [.. batch.Select(p => p.Item)];
        using var anyGone = CancellationTokenSource.CreateLinkedTokenSource([.. batch.Select(p => p.RequestAborted)]);
        Exception failure;
        try
        {
            var outcomes = await SendAsync(items, anyGone.Token);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Complete(outcomes[i]);
            }

            return;
        }
        catch (Exception e)
        {
            failure = e;
        }

        var waiting = new List<Pending>();
        foreach (var pending in batch)
        {
            if (pending.RequestAborted.IsCancellationRequested)
            {
                pending.Fail(failure);
            }
            else
            {
                waiting.Add(pending);
            }
        }

        if (waiting.Count == 1 && batch.Count == 1)
        {
            await CompleteAloneAsync(waiting[0], failure);
        }
        else if (waiting.Count > 0)
        {
            WriteBatcherLog.BatchFailed(_logger, failure, _write.Kind, batch.Count);
            await WriteAgainAloneAsync(waiting, failure);
        }
    }

    /// <summary>
    /// The writes of a failed shared statement, written one after the other, each alone: first one query finds those
    /// a lost acknowledgement hid (when the failure leaves the commit unknown); if the database cannot say, they all
    /// fail as their statement did, rather than each trying a database that is away.
    /// </summary>
    private async Task WriteAgainAloneAsync(List<Pending> waiting, Exception failure)
    {
        if (MayBeStored(failure))
        {
            if (await FindStoredAsync([.. waiting.Select(p => p.Item)], CancellationToken.None) is not { } stored)
            {
                waiting.ForEach(p => p.Fail(new WriteOutcomeUnknownException(failure)));
                return;
            }

            for (var i = 0; i < waiting.Count; i++)
            {
                if (stored[i] is { } outcome)
                {
                    waiting[i].Complete(outcome);
                }
            }
        }

        foreach (var pending in waiting.Where(p => !p.Outcome.IsCompleted))
        {
            await CompleteAloneAsync(pending, failed: null);
        }
    }

    private async Task CompleteAloneAsync(Pending pending, Exception? failed)
    {
        try
        {
            pending.Complete(await WriteAloneAsync(pending.Item, pending.RequestAborted, failed));
        }
        catch (Exception e)
        {
            pending.Fail(e);
        }
    }

    /// <summary>
    /// Writes one item in a statement of its own, retrying faults that a new attempt can clear: a lost connection, a
    /// deadlock, or a reference deleted meanwhile (the statement's own check then sees it gone). Before each retry it
    /// looks for the item: a lost acknowledgement may hide that it was stored.
    /// </summary>
    private async Task<TOutcome> WriteAloneAsync(TItem item, CancellationToken cancellationToken, Exception? failed = null)
    {
        for (var attempt = failed is null ? 1 : 2; ; attempt++)
        {
            if (failed is not null)
            {
                if (MayBeStored(failed))
                {
                    switch (await FindStoredAsync([item], cancellationToken))
                    {
                        case [{ } stored]:
                            return stored;
                        case null when attempt > AttemptsAlone || !Retryable(failed):
                            throw new WriteOutcomeUnknownException(failed);
                    }
                }

                if (attempt > AttemptsAlone || !Retryable(failed))
                {
                    ExceptionDispatchInfo.Throw(failed);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(50 * (attempt - 1)), cancellationToken);
            }

            try
            {
                return (await SendAsync([item], cancellationToken))[0];
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                failed = e;
            }
        }
    }

    private async Task<TOutcome[]> SendAsync(TItem[] items, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _database.OpenConnectionAsync(cancellationToken);
            var outcomes = await _write.WriteAsync(connection, items, cancellationToken);
            _metrics.Sent(_write.Kind, items.Length, succeeded: true);
            return outcomes;
        }
        catch
        {
            _metrics.Sent(_write.Kind, items.Length, succeeded: false);
            throw;
        }
    }

    /// <summary>For each item, its outcome if it is stored (else null); null as a whole when the database cannot say.</summary>
    private async Task<TOutcome?[]?> FindStoredAsync(TItem[] items, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _database.OpenConnectionAsync(cancellationToken);
            return await _write.FindStoredAsync(connection, items, cancellationToken);
        }
        catch (Exception e) when (Common.ErrorHandling.DatabaseUnavailable(e))
        {
            return null;
        }
    }

    /// <summary>
    /// Whether the item may be stored after this failure: a lost connection leaves the commit unknown, and a unique
    /// violation may be an earlier attempt's row; any other failure the database reported ended the statement uncommitted.
    /// </summary>
    private static bool MayBeStored(Exception e) =>
        Common.ErrorHandling.InChain(e, x => x is PostgresException { SqlState: not PostgresErrorCodes.UniqueViolation }) is null;

    private static bool Retryable(Exception e) =>
        Common.ErrorHandling.DatabaseUnavailable(e) ||
        e is PostgresException
        {
            SqlState: PostgresErrorCodes.ForeignKeyViolation or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure
                or PostgresErrorCodes.UniqueViolation,
        };

    /// <summary>A queued write: taken by a writer or cancelled by its request, whichever comes first.</summary>
    private sealed class Pending
    {
        private const int Queued = 0, Taken = 1, Cancelled = 2;

        private readonly TaskCompletionSource<TOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenRegistration _cancellation;
        private int _state;

        public Pending(TItem item, CancellationToken cancellationToken)
        {
            Item = item;
            RequestAborted = cancellationToken;
            _cancellation = cancellationToken.Register(() =>
            {
                if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
                {
                    _outcome.TrySetCanceled(cancellationToken);
                }
            });
        }

        public TItem Item { get; }

        public CancellationToken RequestAborted { get; }

        public Task<TOutcome> Outcome => _outcome.Task;

        /// <summary>Once taken, the write goes out with its batch, which is cancelled if one of its requests goes.</summary>
        public bool TryTake()
        {
            var taken = Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;
            _cancellation.Dispose();
            return taken;
        }

        public void Complete(TOutcome outcome) => _outcome.TrySetResult(outcome);

        public void Fail(Exception failure) => _outcome.TrySetException(failure);
    }
}

/// <summary>A write that may or may not have been stored: the database went away before it could say (answered <c>503</c>, saying so).</summary>
public sealed class WriteOutcomeUnknownException(Exception inner)
    : Exception("The database went away before it could say whether the write was stored.", inner);

internal static partial class WriteBatcherLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "A {Kind} statement of {Count} writes failed; writing them one by one")]
    public static partial void BatchFailed(ILogger logger, Exception failure, string kind, int count);
}
