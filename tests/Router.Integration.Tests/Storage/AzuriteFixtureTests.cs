using Azure.Data.Tables;
using Azure.Storage.Queues;
using Router.Testing.Azurite;

namespace Router.Integration.Tests.Storage;

public sealed class AzuriteFixture : IAsyncLifetime
{
    public AzuriteInstance Azurite { get; private set; } = null!;

    public async Task InitializeAsync() => Azurite = await AzuriteInstance.StartAsync();

    public async Task DisposeAsync() => await Azurite.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "azurite";
}

[Collection(AzuriteCollection.Name)]
public sealed class AzuriteFixtureTests(AzuriteFixture fixture)
{
    [Fact]
    public async Task Tables_and_queues_answer_over_the_real_api()
    {
        var table = new TableClient(fixture.Azurite.ConnectionString, "fixture" + Guid.NewGuid().ToString("N")[..8]);
        await table.CreateIfNotExistsAsync();
        await table.AddEntityAsync(new TableEntity("p", "r") { ["Value"] = 42 });
        var entity = await table.GetEntityAsync<TableEntity>("p", "r");
        Assert.Equal(42, entity.Value.GetInt32("Value"));

        var queue = new QueueClient(fixture.Azurite.ConnectionString, "fixture-" + Guid.NewGuid().ToString("N")[..8]);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("hello");
        var message = await queue.ReceiveMessageAsync();
        Assert.Equal("hello", message.Value.MessageText);
    }
}
