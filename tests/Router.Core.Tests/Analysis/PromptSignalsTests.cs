using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

public sealed class PromptSignalsTests
{
    [Fact]
    public void Counts_quantities_and_quantitative_sentences_in_a_word_problem()
    {
        var s = PromptSignals.Extract("Tom has 3 apples. He buys twice as many at $2 each. How many apples does he have?");

        Assert.True(s.Quantities >= 3, $"quantities {s.Quantities}");
        Assert.Equal(3, s.Sentences);
        Assert.Equal(2, s.QuantitativeSentences);
        Assert.True(s.Relations >= 1);
    }

    [Fact]
    public void Recognises_multiple_choice_options_and_numbered_parts()
    {
        var mcq = PromptSignals.Extract("Which gas is most abundant?\nA. Oxygen\nB. Nitrogen\nC. Argon\nD. Helium\nAnswer:");
        var parts = PromptSignals.Extract("Do three things:\n1. Parse the file\n2. Validate it\n3. Write a report");

        Assert.Equal(4, mcq.Choices);
        Assert.Equal(0, parts.Choices);
        Assert.Equal(3, parts.Parts);
    }

    [Fact]
    public void Counts_options_that_are_numbers_with_at_most_a_short_unit()
    {
        var calculation = PromptSignals.Extract("A car travels 120 km in 2 hours. Its speed?\nA. 40 km/h\nB. 60 km/h\nC. $80\nD. 100.5 km/h");
        var recall = PromptSignals.Extract("Which gas is most abundant?\nA. Oxygen\nB. Nitrogen\nC. Argon\nD. 2 of the noble gases combined");

        Assert.Equal(4, calculation.NumericChoices);
        Assert.Equal(0, recall.NumericChoices);
    }

    [Fact]
    public void Sees_code_and_math_notation()
    {
        var code = PromptSignals.Extract("Fix this: ```python\ndef f(x):\n    return {x: x*2}\n```");
        var math = PromptSignals.Extract("Solve x^2 + 3x = 10 and prove the integral converges.");

        Assert.True(code.Code >= 4, $"code {code.Code}");
        Assert.True(math.MathNotation >= 4, $"math {math.MathNotation}");
        Assert.Equal(0, math.Code);
    }

    [Fact]
    public void Empty_prompt_has_no_signals()
    {
        Assert.Equal(default, PromptSignals.Extract(""));
    }
}
