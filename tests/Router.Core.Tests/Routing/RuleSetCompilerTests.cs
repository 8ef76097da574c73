using System.Text.Json;
using Router.Core.Catalog;
using Router.Core.Routing;
using Router.Core.Tests.Catalog;

namespace Router.Core.Tests.Routing;

public sealed class RuleSetCompilerTests
{
    [Fact]
    public void An_invalid_rule_set_reports_every_error_with_its_path()
    {
        using var json = JsonDocument.Parse("""
            [{"name":"a","when":{"task":["codeing"],"risk_level":"extreme","complexity":{"min":8,"max":3},"colour":"red"},
              "then":{"min_tier":"gold","cap_complexity":"three","pin_model":"gpt-9"}},
             {"name":"a","when":{},"then":{}},
             42]
            """);

        Assert.False(RuleSetCompiler.TryParse(json.RootElement, new ModelCatalog(ModelCatalogTests.Options()), out var rules, out var errors));

        Assert.Empty(rules);
        string[] expected =
        [
            "rules[0].when.colour: unknown condition",
            "rules[0].then.cap_complexity: must be an integer",
            "rules[0].when.task[0]: 'codeing' is not a task type",
            "rules[0].when.risk_level[0]: 'extreme' is not",
            "rules[0].when.complexity: min 8 is above max 3",
            "rules[0].then.min_tier: 'gold' is not",
            "rules[0].then.pin_model: 'gpt-9' is not a catalog model",
            "rules[1].name: 'a' is used by an earlier rule",
            "rules[1].then: a rule needs at least one action",
            "rules[2]: must be an object",
        ];
        foreach (var fragment in expected)
        {
            Assert.Contains(errors, e => e.StartsWith(fragment, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("2")]
    [InlineData("0")]
    [InlineData("economy,premium")]
    [InlineData("Standard, Premium")]
    public void A_tier_given_as_a_number_or_a_list_is_refused(string tier)
    {
        using var json = JsonDocument.Parse($$$"""[{"name":"a","then":{"min_tier":"{{{tier}}}","max_tier":"{{{tier}}}"}}]""");

        Assert.False(RuleSetCompiler.TryParse(json.RootElement, new ModelCatalog(ModelCatalogTests.Options()), out _, out var errors));

        Assert.Contains($"rules[0].then.min_tier: '{tier}' is not economy, standard or premium.", errors);
        Assert.Contains($"rules[0].then.max_tier: '{tier}' is not economy, standard or premium.", errors);
    }

    [Fact]
    public void Empty_condition_lists_are_refused_whatever_they_would_have_matched()
    {
        using var json = JsonDocument.Parse("""
            [{"name":"a","when":{"key_id":[],"task":[],"metadata":{},"session_prefix":""},"then":{"deny":"no"}}]
            """);

        Assert.False(RuleSetCompiler.TryParse(json.RootElement, new ModelCatalog(ModelCatalogTests.Options()), out _, out var errors));

        foreach (var field in new[] { "key_id", "task", "metadata", "session_prefix" })
        {
            Assert.Contains(errors, e => e.StartsWith($"rules[0].when.{field}: is empty", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Routing_tables_whose_tier_falls_with_complexity_are_rejected()
    {
        var errors = RoutingTable.Validate(
        [
            new RoutingTableEntry { Task = "coding", Complexity = "1-5", Tier = ModelTier.Premium },
            new RoutingTableEntry { Task = "*", Complexity = "1-10", Tier = ModelTier.Economy },
        ], "Router:Routing:Table");

        Assert.Contains(errors, e => e.Contains("'coding'", StringComparison.Ordinal) && e.Contains("falls", StringComparison.Ordinal));
        Assert.Empty(RoutingTable.Validate(RoutingTable.Defaults, "x"));
    }
}
