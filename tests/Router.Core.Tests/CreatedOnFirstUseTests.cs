using Router.Infrastructure;

namespace Router.Core.Tests;

/// <summary>Tables, queues and containers created on first use: one creation shared by the callers that wait for it.</summary>
public sealed class CreatedOnFirstUseTests
{
    [Fact]
    public async Task A_caller_that_hangs_up_does_not_cancel_the_creation_another_caller_waits_for()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var created = new CreatedOnFirstUse<string>(async (name, ct) =>
        {
            Interlocked.Increment(ref calls);
            await release.Task.WaitAsync(ct);
            return name;
        });

        using var hungUp = new CancellationTokenSource();
        var first = created.GetAsync("audits", hungUp.Token);
        var second = created.GetAsync("audits", CancellationToken.None);
        await hungUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        release.SetResult();
        Assert.Equal("audits", await second);
        Assert.Equal("audits", await created.GetAsync("audits", CancellationToken.None));
        Assert.Equal(1, calls);
    }
}
