using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Router.Core.Metering;

namespace Router.Integration.Tests.Server;

/// <summary>The start-up line ("Router listening on …") is written by a task the ApplicationStarted callback discards.</summary>
public sealed class StartupAnnouncementTests
{
    [Fact]
    public async Task A_key_store_that_fails_at_start_still_leaves_a_start_up_line_or_an_error_in_the_log()
    {
        // Table Storage is unreachable as the server starts: the key store's HasKeysAsync throws.
        await using var router = await RouterServerHost.StartAsync(new Dictionary<string, string?>(), builder =>
            builder.Services.Replace(ServiceDescriptor.Singleton<IApiKeyStore>(new UnreachableKeyStore())));

        bool Logged() => Announced(router) || router.LogLines.Any(l => l.Contains(nameof(InvalidOperationException), StringComparison.Ordinal));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!Logged() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(Logged(),
            "neither the start-up line nor the failure was logged: AnnounceAsync's exception vanished with the discarded task (RouterServer.cs: _ = AnnounceAsync(app))");
    }

    private static bool Announced(RouterServerHost router) => router.LogLines.Any(l => l.Contains("Router listening on", StringComparison.Ordinal));

    private sealed class UnreachableKeyStore : IApiKeyStore
    {
        public ValueTask<ApiKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken) => throw Down();

        public ValueTask<ApiKeyRecord?> FindByIdAsync(string id, CancellationToken cancellationToken) => throw Down();

        public async ValueTask<bool> HasKeysAsync(CancellationToken cancellationToken)
        {
            await Task.Yield();
            throw Down();
        }

        public ValueTask CreateAsync(ApiKeyRecord key, CancellationToken cancellationToken) => throw Down();

        public ValueTask<bool> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) => throw Down();

        public IAsyncEnumerable<ApiKeyRecord> ListAsync(string? tenantId, CancellationToken cancellationToken) => throw Down();

        private static InvalidOperationException Down() => new("table storage unreachable");
    }
}
