using System.Text.Json;
using Router.Core.Analysis;
using Router.Core.Catalog;

namespace Router.Core.Routing;

/// <summary>Validates tenant rules, reporting every error at once with its path, and compiles them.</summary>
public static class RuleSetCompiler
{
    private static readonly string[] ConditionFields =
        ["task", "complexity", "risk_level", "risk_categories", "prompt_tokens", "key_id", "session_prefix", "user", "metadata", "headers"];

    private static readonly string[] ActionFields =
        ["pin_model", "min_tier", "max_tier", "cap_complexity", "disable_cache", "force_audit", "deny"];

    /// <summary>Parses a JSON array of rules (the admin API body), reporting unknown fields and wrong types as well.</summary>
    public static bool TryParse(JsonElement json, ModelCatalog catalog, out IReadOnlyList<TenantRule> rules, out IReadOnlyList<string> errors)
    {
        var found = new List<string>();
        var definitions = new List<RuleDefinition>();
        if (json.ValueKind != JsonValueKind.Array)
        {
            rules = [];
            errors = ["The body must be a JSON array of rules (or an object with a 'rules' array)."];
            return false;
        }

        var index = 0;
        foreach (var element in json.EnumerateArray())
        {
            definitions.Add(ReadRule(element, $"rules[{index++}]", found));
        }

        var compiled = Compile(definitions, catalog, found);
        rules = found.Count == 0 ? compiled : [];
        errors = found;
        return found.Count == 0;
    }

    /// <summary>Validates and compiles rules bound from configuration; errors name the rule index.</summary>
    public static bool TryCompile(IReadOnlyList<RuleDefinition> definitions, ModelCatalog catalog, out IReadOnlyList<TenantRule> rules, out IReadOnlyList<string> errors)
    {
        var found = new List<string>();
        var compiled = Compile(definitions, catalog, found);
        rules = found.Count == 0 ? compiled : [];
        errors = found;
        return found.Count == 0;
    }

    private static List<TenantRule> Compile(IReadOnlyList<RuleDefinition> definitions, ModelCatalog catalog, List<string> errors)
    {
        var rules = new List<TenantRule>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < definitions.Count; i++)
        {
            var path = $"rules[{i}]";
            var d = definitions[i];
            var name = string.IsNullOrWhiteSpace(d.Name) ? $"rule-{i + 1}" : d.Name.Trim();
            if (!names.Add(name))
            {
                errors.Add($"{path}.name: '{name}' is used by an earlier rule; names must be unique.");
            }

            var tasks = ParseSet<TaskType>(d.When.Task, $"{path}.when.task", errors, s => TaskTypeNames.TryParse(s, out var t) ? t : null,
                "a task type (" + string.Join(", ", TaskTypeNames.All.Select(t => t.ToWireName())) + ")");
            var levels = ParseSet<RiskLevel>(d.When.RiskLevel, $"{path}.when.risk_level", errors,
                s => Enum.GetValues<RiskLevel>().Cast<RiskLevel?>().FirstOrDefault(l => l!.Value.ToWireName() == s), "none, low, medium or high");
            var categories = ParseSet<RiskCategory>(d.When.RiskCategories, $"{path}.when.risk_categories", errors,
                s => Enum.GetValues<RiskCategory>().Cast<RiskCategory?>().FirstOrDefault(c => c!.Value.ToWireName() == s),
                "medical, legal, financial, pii, security or self_harm");
            // An empty list or map would match nothing for some conditions and everything for others: refused for all.
            foreach (var (field, empty) in new[]
            {
                ("task", d.When.Task is { Count: 0 }), ("risk_level", d.When.RiskLevel is { Count: 0 }),
                ("risk_categories", d.When.RiskCategories is { Count: 0 }), ("key_id", d.When.KeyId is { Count: 0 }),
                ("user", d.When.User is { Count: 0 }), ("metadata", d.When.Metadata is { Count: 0 }),
                ("headers", d.When.Headers is { Count: 0 }), ("session_prefix", d.When.SessionPrefix is { Length: 0 }),
            })
            {
                if (empty)
                {
                    errors.Add($"{path}.when.{field}: is empty; give at least one value, or leave the condition out to match any.");
                }
            }

            CheckRange(d.When.Complexity, $"{path}.when.complexity", 1, 10, errors);
            CheckRange(d.When.PromptTokens, $"{path}.when.prompt_tokens", 0, int.MaxValue, errors);

            var then = d.Then;
            ModelTier? minTier = ParseTier(then.MinTier, $"{path}.then.min_tier", errors);
            ModelTier? maxTier = ParseTier(then.MaxTier, $"{path}.then.max_tier", errors);
            if (minTier > maxTier)
            {
                errors.Add($"{path}.then: min_tier {then.MinTier} is above max_tier {then.MaxTier}.");
            }

            if (then.PinModel is { } pin && !catalog.TryGet(pin, out _))
            {
                errors.Add($"{path}.then.pin_model: '{pin}' is not a catalog model (valid: {string.Join(", ", catalog.Models.Select(m => m.Id))}).");
            }

            if (then.CapComplexity is { } cap && (cap < 1 || cap > 10))
            {
                errors.Add($"{path}.then.cap_complexity: must be between 1 and 10, got {cap}.");
            }

            if (then.Deny is { } deny && string.IsNullOrWhiteSpace(deny))
            {
                errors.Add($"{path}.then.deny: give the message the caller should see.");
            }

            if (then.PinModel is null && then.MinTier is null && then.MaxTier is null && then.CapComplexity is null
                && then.DisableCache is null && then.ForceAudit is null && then.Deny is null)
            {
                errors.Add($"{path}.then: a rule needs at least one action ({string.Join(", ", ActionFields)}).");
            }

            rules.Add(new TenantRule(d, name, tasks, levels, categories, minTier, maxTier));
        }

        return rules;
    }

    private static HashSet<T>? ParseSet<T>(List<string>? values, string path, List<string> errors, Func<string, T?> parse, string expected)
        where T : struct
    {
        if (values is null)
        {
            return null;
        }

        var set = new HashSet<T>();
        for (var i = 0; i < values.Count; i++)
        {
            if (parse(values[i]) is { } value)
            {
                set.Add(value);
            }
            else
            {
                errors.Add($"{path}[{i}]: '{values[i]}' is not {expected}.");
            }
        }

        return set;
    }

    private static ModelTier? ParseTier(string? value, string path, List<string> errors)
    {
        if (value is null)
        {
            return null;
        }

        if (ModelTierNames.TryParse(value, out var tier))
        {
            return tier;
        }

        errors.Add($"{path}: '{value}' is not economy, standard or premium.");
        return null;
    }

    private static void CheckRange(RuleRange? range, string path, double low, double high, List<string> errors)
    {
        if (range is null)
        {
            return;
        }

        if (range.Min is { } min && (min < low || min > high) || range.Max is { } max && (max < low || max > high))
        {
            errors.Add($"{path}: bounds must be between {low} and {high}.");
        }

        if (range.Min > range.Max)
        {
            errors.Add($"{path}: min {range.Min} is above max {range.Max}.");
        }
    }

    private static RuleDefinition ReadRule(JsonElement element, string path, List<string> errors)
    {
        var rule = new RuleDefinition();
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}: must be an object with 'when' and 'then'.");
            return rule;
        }

        foreach (var property in element.EnumerateObject())
        {
            switch (property.Name)
            {
                case "name":
                    rule.Name = ReadString(property.Value, $"{path}.name", errors);
                    break;
                case "when":
                    rule.When = ReadConditions(property.Value, $"{path}.when", errors);
                    break;
                case "then":
                    rule.Then = ReadActions(property.Value, $"{path}.then", errors);
                    break;
                default:
                    errors.Add($"{path}.{property.Name}: unknown field (expected name, when, then).");
                    break;
            }
        }

        return rule;
    }

    private static RuleConditions ReadConditions(JsonElement element, string path, List<string> errors)
    {
        var when = new RuleConditions();
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}: must be an object.");
            return when;
        }

        foreach (var p in element.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            switch (p.Name)
            {
                case "task": when.Task = ReadStrings(p.Value, at, errors); break;
                case "risk_level": when.RiskLevel = ReadStrings(p.Value, at, errors); break;
                case "risk_categories": when.RiskCategories = ReadStrings(p.Value, at, errors); break;
                case "key_id": when.KeyId = ReadStrings(p.Value, at, errors); break;
                case "user": when.User = ReadStrings(p.Value, at, errors); break;
                case "complexity": when.Complexity = ReadRange(p.Value, at, errors); break;
                case "prompt_tokens": when.PromptTokens = ReadRange(p.Value, at, errors); break;
                case "session_prefix": when.SessionPrefix = ReadString(p.Value, at, errors); break;
                case "metadata": when.Metadata = ReadMap(p.Value, at, errors); break;
                case "headers": when.Headers = ReadMap(p.Value, at, errors); break;
                default: errors.Add($"{at}: unknown condition (expected {string.Join(", ", ConditionFields)})."); break;
            }
        }

        return when;
    }

    private static RuleActions ReadActions(JsonElement element, string path, List<string> errors)
    {
        var then = new RuleActions();
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}: must be an object.");
            return then;
        }

        foreach (var p in element.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            switch (p.Name)
            {
                case "pin_model": then.PinModel = ReadString(p.Value, at, errors); break;
                case "min_tier": then.MinTier = ReadString(p.Value, at, errors); break;
                case "max_tier": then.MaxTier = ReadString(p.Value, at, errors); break;
                case "deny": then.Deny = ReadString(p.Value, at, errors); break;
                case "cap_complexity":
                    if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out var cap))
                    {
                        then.CapComplexity = cap;
                    }
                    else
                    {
                        errors.Add($"{at}: must be an integer.");
                    }

                    break;
                case "disable_cache" or "force_audit":
                    if (p.Value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                    {
                        if (p.Name == "disable_cache")
                        {
                            then.DisableCache = p.Value.GetBoolean();
                        }
                        else
                        {
                            then.ForceAudit = p.Value.GetBoolean();
                        }
                    }
                    else
                    {
                        errors.Add($"{at}: must be true or false.");
                    }

                    break;
                default: errors.Add($"{at}: unknown action (expected {string.Join(", ", ActionFields)})."); break;
            }
        }

        return then;
    }

    private static string? ReadString(JsonElement value, string path, List<string> errors)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString();
        }

        errors.Add($"{path}: must be a string.");
        return null;
    }

    private static List<string>? ReadStrings(JsonElement value, string path, List<string> errors)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return [value.GetString()!];
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
        {
            errors.Add($"{path}: must be a string or an array of strings.");
            return null;
        }

        return value.EnumerateArray().Select(v => v.GetString()!).ToList();
    }

    private static RuleRange? ReadRange(JsonElement value, string path, List<string> errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}: must be an object with 'min' and/or 'max'.");
            return null;
        }

        var range = new RuleRange();
        foreach (var p in value.EnumerateObject())
        {
            if (p.Name is not ("min" or "max"))
            {
                errors.Add($"{path}.{p.Name}: unknown field (expected min, max).");
            }
            else if (p.Value.ValueKind != JsonValueKind.Number)
            {
                errors.Add($"{path}.{p.Name}: must be a number.");
            }
            else if (p.Name == "min")
            {
                range.Min = p.Value.GetDouble();
            }
            else
            {
                range.Max = p.Value.GetDouble();
            }
        }

        return range;
    }

    private static Dictionary<string, string>? ReadMap(JsonElement value, string path, List<string> errors)
    {
        if (value.ValueKind != JsonValueKind.Object || value.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String))
        {
            errors.Add($"{path}: must be an object of string values.");
            return null;
        }

        return value.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
    }
}
