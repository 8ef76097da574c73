using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.Azure.Cosmos;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Weights;
using Router.Infrastructure.Caching;
using Router.Infrastructure.Embeddings;
using Router.Infrastructure.Storage;
using Router.Integration.Tests.Functions;

namespace Router.Integration.Tests.Infra;

/// <summary>The deployment and the code agree: the Cosmos container, the app settings, the queue and the timer.</summary>
public sealed class BicepContractTests
{
    private static readonly Lazy<JsonNode> Template = new(Compile);

    // Settings for the Functions host and SDKs rather than for the router's own options.
    private static readonly HashSet<string> HostSettings =
    [
        "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
        "AzureWebJobsDisableHomepage", "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "AZURE_CLIENT_ID",
    ];

    // What the Functions app needs in Azure: the triggers' binding expressions, identity-based stores, the Azure
    // OpenAI provider of the default catalog, the Cosmos cache and the admin key.
    private static readonly string[] RequiredInAzure =
    [
        "Router__AdminKey", "Router__Providers__azure__Type", "Router__Providers__azure__Endpoint",
        "Router__Storage__TableServiceUri", "Router__Storage__QueueServiceUri", "Router__Storage__BlobServiceUri",
        "Router__Cache__Cosmos__Endpoint", "Router__Cache__Cosmos__Database", "Router__Audits__QueueName", "Router__Weights__Schedule",
        "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
    ];

    private static JsonObject Variables(string module) =>
        Template.Value["resources"]![module]!["properties"]!["template"]!["variables"]!.AsObject();

    // The embedding model each Router:Embeddings:Provider gives the app: the one its generator reports, which the chat
    // pipeline stores answers under and looks them up with ("none" without a generator).
    public static TheoryData<string, string> Providers => new()
    {
        { "Local", "all-MiniLM-L6-v2-int8" },
        { "AzureOpenAI", new EmbeddingOptions().Deployment },
        { "None", "none" },
    };

    [Theory]
    [MemberData(nameof(Providers))]
    public void The_cosmos_container_in_bicep_equals_the_codes_definition(string provider, string embeddingModel)
    {
        var cosmos = Variables("cosmos");
        var bicep = cosmos["cacheContainer"]!;
        var model = cosmos["embeddingModels"]![provider]!;
        var code = CosmosCacheContainer.Definition(embeddingModel);

        // The container's id and dimensions are those of the provider the deployment is given.
        Assert.Equal("[variables('embeddingModels')[parameters('embeddingProvider')].container]", bicep["id"]!.GetValue<string>());
        Assert.Equal(code.Id, model["container"]!.GetValue<string>());
        Assert.Equal(CosmosCacheContainer.NameFor(model["model"]!.GetValue<string>()), code.Id);
        Assert.Equal(new CosmosCacheOptions().Database, Variables("cosmos")["databaseName"]!.GetValue<string>());
        Assert.Equal(code.PartitionKeyPaths, bicep["partitionKey"]!["paths"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Equal("MultiHash", bicep["partitionKey"]!["kind"]!.GetValue<string>());
        Assert.Equal(code.DefaultTimeToLive, bicep["defaultTtl"]!.GetValue<int>());
        var embedding = Assert.Single(code.VectorEmbeddingPolicy.Embeddings);
        var bicepEmbedding = Assert.Single(bicep["vectorEmbeddingPolicy"]!["vectorEmbeddings"]!.AsArray())!;
        Assert.Equal(embedding.Path, bicepEmbedding["path"]!.GetValue<string>());
        Assert.Equal("float32", bicepEmbedding["dataType"]!.GetValue<string>());
        Assert.Equal(VectorDataType.Float32, embedding.DataType);
        Assert.Equal("cosine", bicepEmbedding["distanceFunction"]!.GetValue<string>());
        Assert.Equal(DistanceFunction.Cosine, embedding.DistanceFunction);
        Assert.Equal("[variables('embeddingModels')[parameters('embeddingProvider')].dimensions]", bicepEmbedding["dimensions"]!.GetValue<string>());
        Assert.Equal(embedding.Dimensions, model["dimensions"]!.GetValue<int>());
        var indexing = bicep["indexingPolicy"]!;
        Assert.Equal(code.IndexingPolicy.IncludedPaths.Select(p => p.Path), indexing["includedPaths"]!.AsArray().Select(p => p!["path"]!.GetValue<string>()));
        Assert.Equal(code.IndexingPolicy.ExcludedPaths.Select(p => p.Path), indexing["excludedPaths"]!.AsArray().Select(p => p!["path"]!.GetValue<string>()));
        var vectorIndex = Assert.Single(code.IndexingPolicy.VectorIndexes);
        var bicepIndex = Assert.Single(indexing["vectorIndexes"]!.AsArray())!;
        Assert.Equal(vectorIndex.Path, bicepIndex["path"]!.GetValue<string>());
        Assert.Equal(VectorIndexType.QuantizedFlat, vectorIndex.Type);
        Assert.Equal("quantizedFlat", bicepIndex["type"]!.GetValue<string>());
    }

    [Fact]
    public void The_embedding_provider_the_app_is_given_is_the_one_whose_cache_container_is_created()
    {
        var parameter = Template.Value["parameters"]!["embeddingProvider"]!;
        var allowed = parameter["allowedValues"]!.AsArray().Select(v => v!.GetValue<string>()).ToArray();
        var settings = Variables("functionApp")["routerSettings"]!.AsObject();

        // One parameter sets both the app's provider and the Cosmos DB container; the default is the code's default.
        Assert.Equal("[parameters('embeddingProvider')]", Template.Value["resources"]!["cosmos"]!["properties"]!["parameters"]!["embeddingProvider"]!["value"]!.GetValue<string>());
        Assert.Equal("[parameters('embeddingProvider')]", Template.Value["resources"]!["functionApp"]!["properties"]!["parameters"]!["embeddingProvider"]!["value"]!.GetValue<string>());
        Assert.Equal("[parameters('embeddingProvider')]", settings["Router__Embeddings__Provider"]!.GetValue<string>());
        Assert.Equal(new EmbeddingOptions().Provider, parameter["defaultValue"]!.GetValue<string>());
        Assert.Equal(Providers.Select(p => (string)p[0]).Order(), allowed.Order());
        Assert.Equal(allowed.Order(), Variables("cosmos")["embeddingModels"]!.AsObject().Select(p => p.Key).Order());

        // Local is the MiniLM the app runs; AzureOpenAI embeds with the deployment the template creates by default.
        Assert.Equal(MiniLmEmbeddingGenerator.Dimensions, Variables("cosmos")["embeddingModels"]!["Local"]!["dimensions"]!.GetValue<int>());
        var deployments = Template.Value["parameters"]!["openAiDeployments"]!["defaultValue"]!.AsArray().Select(d => d!["name"]!.GetValue<string>());
        Assert.Contains(new EmbeddingOptions().Deployment, deployments);
    }

    [Fact]
    public void Provisioned_throughput_is_on_the_cache_container_because_vector_search_is_unsupported_on_shared_throughput_databases()
    {
        // https://learn.microsoft.com/azure/cosmos-db/vector-search#current-limitations: "Shared throughput databases are
        // unsupported" for vector indexing and search, so autoscale throughput must be dedicated to the container.
        var resources = Template.Value["resources"]!["cosmos"]!["properties"]!["template"]!["resources"]!;
        var database = resources["account::database"]!["properties"]!;
        var container = resources["account::database::cache"]!["properties"]!;

        var databaseOptions = Text(database["options"]);
        Assert.False(databaseOptions.Contains("autoscaleSettings", StringComparison.Ordinal),
            $"the database carries throughput, making it a shared throughput database the vector container cannot live in: {databaseOptions}");
        var containerOptions = Text(container["options"]);
        Assert.Contains("autoscaleSettings", containerOptions, StringComparison.Ordinal);
        Assert.Contains("parameters('autoscaleMaxThroughput')", containerOptions, StringComparison.Ordinal);
        Assert.Contains("variables('serverless')", containerOptions, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_setting_the_app_needs_is_set_and_every_router_setting_bicep_sets_is_bound_by_the_code()
    {
        var names = Variables("functionApp")["routerSettings"]!.AsObject().Select(p => p.Key).ToArray();

        Assert.All(RequiredInAzure, required => Assert.Contains(required, names));
        foreach (var name in names.Where(n => !HostSettings.Contains(n)))
        {
            Assert.True(IsBound(name.Replace("__", ":", StringComparison.Ordinal)), $"{name} is set by Bicep but no options class binds it");
        }
    }

    [Fact]
    public void The_functions_host_landing_page_is_off_so_every_unmatched_path_gets_the_routers_json_404()
    {
        var settings = Variables("functionApp")["routerSettings"]!.AsObject();

        Assert.Equal("true", settings["AzureWebJobsDisableHomepage"]?.GetValue<string>());
    }

    [Fact]
    public void The_audit_queue_and_the_weights_timer_match_the_functions()
    {
        var metadata = FunctionsMetadataTests.LoadMetadata();
        var queueBinding = FunctionsMetadataTests.Function(metadata, "QualityAudit")["bindings"]![0]!["queueName"]!.GetValue<string>();
        var timerBinding = FunctionsMetadataTests.Function(metadata, "RecomputeWeights")["bindings"]![0]!["schedule"]!.GetValue<string>();
        var settings = Variables("functionApp")["routerSettings"]!.AsObject();

        Assert.Equal("%Router:Audits:QueueName%", queueBinding);
        Assert.Equal("%Router:Weights:Schedule%", timerBinding);
        Assert.True(settings.ContainsKey("Router__Audits__QueueName"));
        Assert.True(settings.ContainsKey("Router__Weights__Schedule"));

        // The queue Bicep creates (and its poison queue) is the one the code uses by default.
        var storage = Template.Value["resources"]!["storage"]!["properties"]!;
        var queueName = Resolve(storage["parameters"]!["auditQueueName"]!["value"]!.GetValue<string>());
        Assert.Equal(new AuditOptions().QueueName, queueName);
        Assert.Contains("-poison", Template.Value["resources"]!["storage"]!.ToJsonString(), StringComparison.Ordinal);
        var schedule = Resolve(Template.Value["resources"]!["functionApp"]!["properties"]!["parameters"]!["weightsSchedule"]!["value"]!.GetValue<string>());
        Assert.Equal(new WeightsOptions().Schedule, schedule);
    }

    // An ARM expression or object as text, without JSON escaping.
    private static string Text(JsonNode? node) =>
        node is null ? "" : node.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString();

    // A module parameter given as "[variables('name')]" takes the main template's variable.
    private static string Resolve(string value) =>
        value.StartsWith("[variables('", StringComparison.Ordinal)
            ? Template.Value["variables"]![value["[variables('".Length..^3]]!.GetValue<string>()
            : value;

    // A configuration path is bound when an options class with a matching section has the property chain.
    private static bool IsBound(string path)
    {
        (string Section, Type Type)[] options =
        [
            (RouterOptions.Section, typeof(RouterOptions)),
            (StorageOptions.Section, typeof(StorageOptions)),
            (CosmosCacheOptions.Section, typeof(CosmosCacheOptions)),
            (AuditOptions.Section, typeof(AuditOptions)),
            (WeightsOptions.Section, typeof(WeightsOptions)),
            (EmbeddingOptions.Section, typeof(EmbeddingOptions)),
        ];
        foreach (var (section, type) in options.OrderByDescending(o => o.Section.Length))
        {
            if (!path.StartsWith(section + ":", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var current = type;
            var parts = path[(section.Length + 1)..].Split(':');
            for (var i = 0; i < parts.Length; i++)
            {
                var property = current.GetProperty(parts[i], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
                if (property is null)
                {
                    return false;
                }

                current = property.PropertyType;
                if (current.IsGenericType && current.GetGenericTypeDefinition() == typeof(Dictionary<,>))
                {
                    current = current.GetGenericArguments()[1];
                    i++;
                }
            }

            return true;
        }

        return false;
    }

    private static JsonNode Compile()
    {
        var root = FunctionsMetadataTests.RepositoryRoot();
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var bicep = Path.Combine(packages, "azure.bicep.commandline.linux-x64", "0.49.2", "tools", "bicep");
        Assert.True(File.Exists(bicep), $"The Bicep CLI is not restored at {bicep}; run 'dotnet restore .ci/tools/tools.csproj'.");
        var start = new ProcessStartInfo(bicep) { ArgumentList = { "build", Path.Combine(root, "infra", "main.bicep"), "--stdout" }, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return JsonNode.Parse(output)!;
    }
}
