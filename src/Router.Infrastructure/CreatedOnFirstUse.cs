namespace Router.Infrastructure;

/// <summary>Resources (tables, queues, containers) created on first use: one creation per name, shared by every caller
/// that asks while it runs and kept once it succeeds. A creation that failed or was cancelled is not kept, so a storage
/// blip at that moment costs the calls of that moment rather than every call until the process restarts.</summary>
internal sealed class CreatedOnFirstUse<T>(Func<string, CancellationToken, Task<T>> create)
{
    private readonly Dictionary<string, Creation> _creations = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>The resource <paramref name="name"/>, created if no creation of it succeeded or runs.
    /// <paramref name="cancellationToken"/> ends this caller's wait; the creation is cancelled only when every caller
    /// waiting for it has given up.</summary>
    public Task<T> GetAsync(string name, CancellationToken cancellationToken)
    {
        Creation? creation;
        lock (_gate)
        {
            if (!_creations.TryGetValue(name, out creation) || creation.Failed)
            {
                creation = new Creation();
                creation.Task = create(name, creation.Abandon.Token);
                _creations[name] = creation;
            }

            if (creation.Task.IsCompletedSuccessfully)
            {
                return creation.Task;
            }

            creation.Waiters++;
        }

        return WaitAsync(creation, cancellationToken);
    }

    private async Task<T> WaitAsync(Creation creation, CancellationToken cancellationToken)
    {
        try
        {
            return await creation.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            bool abandon;
            lock (_gate)
            {
                // No one waits for it any more: it is stopped, and the next caller starts a new one instead of waiting
                // for one that may never end (a request that hung up must not hold back the requests after it).
                abandon = --creation.Waiters == 0 && !creation.Task.IsCompleted;
                creation.Abandoned |= abandon;
            }

            if (abandon)
            {
                await creation.Abandon.CancelAsync();
            }
        }
    }

    private sealed class Creation
    {
        public Task<T> Task { get; set; } = null!;

        public CancellationTokenSource Abandon { get; } = new();

        public int Waiters { get; set; }

        public bool Abandoned { get; set; }

        public bool Failed => Task.IsFaulted || Task.IsCanceled || (Abandoned && !Task.IsCompletedSuccessfully);
    }
}
