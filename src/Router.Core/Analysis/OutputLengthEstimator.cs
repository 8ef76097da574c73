using System.Globalization;
using System.Text.RegularExpressions;

namespace Router.Core.Analysis;

/// <summary>Expected completion tokens: explicit length requests first, else a per-task default scaled by the input where the output follows it.</summary>
internal static partial class OutputLengthEstimator
{
    private const double TokensPerWord = 1.35;

    public static int Estimate(TaskType task, string instruction, StructuralSignals signals, int taskTextTokens, int? maxTokens)
    {
        var estimate = Explicit(instruction) ?? Default(task, signals, taskTextTokens);
        if (Detailed().IsMatch(instruction))
        {
            estimate = (int)(estimate * 1.5);
        }
        else if (Brief().IsMatch(instruction))
        {
            estimate = (int)(estimate * 0.6);
        }

        estimate = Math.Clamp(estimate, 1, 32_000);
        return maxTokens is > 0 ? Math.Min(estimate, maxTokens.Value) : estimate;
    }

    private static int Default(TaskType task, StructuralSignals signals, int inputTokens) => task switch
    {
        TaskType.Coding => signals.HasCode ? Math.Clamp(200 + (inputTokens / 2), 300, 1500) : 450,
        TaskType.Math => 350,
        TaskType.Reasoning => 450,
        TaskType.CreativeWriting => 550,
        TaskType.Writing => 350,
        TaskType.Summarization => Math.Clamp(inputTokens / 5, 40, 400),
        TaskType.Translation => Math.Clamp((int)(inputTokens * 1.2), 15, 4000),
        TaskType.Extraction => Math.Clamp((int)(inputTokens * 0.5), 30, 1500),
        TaskType.Classification => 30 + (20 * Math.Min(signals.ListItemCount, 50)),
        TaskType.KnowledgeQa => 250,
        TaskType.Advice => 400,
        TaskType.Roleplay => 150,
        _ => 40,
    };

    private static int? Explicit(string text)
    {
        var match = LengthRequest().Match(text);
        if (!match.Success)
        {
            return FixedForm(text);
        }

        var amount = ParseAmount(match.Groups["high"].Success ? match.Groups["high"].Value : match.Groups["n"].Value);
        if (amount is null)
        {
            return FixedForm(text);
        }

        var unit = match.Groups["unit"].Value.ToLowerInvariant();
        var perUnit = unit switch
        {
            var u when u.StartsWith("word", StringComparison.Ordinal) => TokensPerWord,
            var u when u.StartsWith("sentence", StringComparison.Ordinal) => 28,
            var u when u.StartsWith("paragraph", StringComparison.Ordinal) => 120,
            var u when u.StartsWith("bullet", StringComparison.Ordinal) || u.StartsWith("point", StringComparison.Ordinal) => 25,
            var u when u.StartsWith("line", StringComparison.Ordinal) => 14,
            var u when u.StartsWith("character", StringComparison.Ordinal) => 0.3,
            var u when u.StartsWith("page", StringComparison.Ordinal) => 600,
            _ => 1.0,
        };
        return (int)Math.Ceiling(amount.Value * perUnit);
    }

    private static int? FixedForm(string text)
    {
        var match = Form().Match(text);
        if (!match.Success)
        {
            return null;
        }

        return match.Value.ToLowerInvariant() switch
        {
            "haiku" => 25,
            "limerick" => 50,
            "sonnet" => 160,
            "tagline" or "slogan" => 60,
            "one sentence" or "one line" or "one-liner" => 40,
            "tl;dr" or "tldr" => 60,
            _ => null,
        };
    }

    private static double? ParseAmount(string value)
    {
        var cleaned = value.Replace(",", "", StringComparison.Ordinal);
        if (double.TryParse(cleaned, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        return value.ToLowerInvariant() switch
        {
            "one" or "a" or "single" => 1,
            "two" => 2,
            "three" => 3,
            "four" => 4,
            "five" => 5,
            "six" => 6,
            "seven" => 7,
            "eight" => 8,
            "ten" => 10,
            _ => null,
        };
    }

    private static Regex LengthRequest() => Patterns.LengthRequest;

    private static Regex Form() => Patterns.Form;

    private static Regex Detailed() => Patterns.Detailed;

    private static Regex Brief() => Patterns.Brief;

    /// <summary>The patterns, built once on first use.</summary>
    private static class Patterns
    {
        internal static readonly Regex LengthRequest = RegexFactory.Create(@"(?<n>\d[\d,]*(\.\d+)?|one|two|three|four|five|six|seven|eight|ten|a|single)\s*(-|–|to)?\s*(?<high>\d[\d,]*)?\s*(?<unit>words?|sentences?|paragraphs?|bullets?|bullet points|points|lines|characters|pages?)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        internal static readonly Regex Form = RegexFactory.Create(@"\b(haiku|limerick|sonnet|tagline|slogan|one sentence|one line|one-liner|tl;dr|tldr)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        internal static readonly Regex Detailed = RegexFactory.Create(@"\b(in detail|detailed|in-depth|in depth|comprehensive|thorough\w*|step by step|step-by-step|rigorous)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        internal static readonly Regex Brief = RegexFactory.Create(@"\b(briefly|brief|short|quick(ly)?|concise|just the (number|answer|math)|only the answer)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }
}
