using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

public sealed class SignalTests
{
    [Fact]
    public void Prompt_tokens_are_o200k_tokens_plus_chat_overhead()
    {
        var profile = AnalyzerFactory.Analyze("hello world");

        // "hello world" is 2 o200k tokens; 3 per message and 3 to prime the reply.
        Assert.Equal(2 + 3 + 3, profile.PromptTokens);
    }

    [Fact]
    public void A_megabyte_prompt_is_counted_within_a_few_percent()
    {
        var counter = new PromptTokenCounter(exactMaxChars: 256 * 1024);
        var text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 25_000));

        var estimated = counter.CountText(text);
        var exact = new PromptTokenCounter(int.MaxValue).CountText(text);

        Assert.InRange(estimated, exact * 0.97, exact * 1.03);
    }

    [Theory]
    [InlineData("Give me a JSON list of the 5 largest planets", OutputFormat.Json)]
    [InlineData("turn this into a CSV with columns date, amount", OutputFormat.Csv)]
    [InlineData("put them in a table with name and price", OutputFormat.Table)]
    [InlineData("Summarize this in 3 bullet points", OutputFormat.List)]
    [InlineData("tell me a joke", OutputFormat.None)]
    public void The_requested_output_format_is_recognised(string prompt, OutputFormat expected) =>
        Assert.Equal(expected, AnalyzerFactory.Analyze(prompt).RequestedFormat);

    [Theory]
    [InlineData("Wie funktioniert die Abgeltungsteuer bei ETF-Ausschüttungen?", "de", "Latin")]
    [InlineData("¿Qué plantas de interior son fáciles de cuidar?", "es", "Latin")]
    [InlineData("富士山の高さは何メートルですか？", "ja", "Japanese")]
    [InlineData("为什么月亮总是同一面朝向地球？", "zh", "Han")]
    [InlineData("भारत का राष्ट्रीय पक्षी कौन सा है?", "hi", "Devanagari")]
    [InlineData("Translate this customer complaint from Italian to English: 'Ho ordinato il divano tre settimane fa'", "en", "Latin")]
    public void Language_and_script_are_detected(string prompt, string language, string script)
    {
        var profile = AnalyzerFactory.Analyze(prompt);

        Assert.Equal(language, profile.Language);
        Assert.Equal(script, profile.Script);
    }

    [Fact]
    public void Code_stack_traces_and_math_are_seen()
    {
        var code = AnalyzerFactory.Analyze("Why does this fail?\n```python\ndef f(x):\n    return x / 0\n```\nTraceback (most recent call last):\n  File \"a.py\", line 2, in f\nZeroDivisionError: division by zero");
        var math = AnalyzerFactory.Analyze("Show that ∫ x·e^(2x) dx = (x/2 − 1/4)e^(2x) + C and that 3 + 4 = 7");

        Assert.True(code.HasCode);
        Assert.True(code.Signals.HasStackTrace);
        Assert.Equal(1, code.Signals.CodeBlockCount);
        Assert.True(math.Signals.MathNotationCount >= 2);
        Assert.False(math.HasCode);
    }

    [Fact]
    public void An_explicit_length_request_sets_the_expected_output()
    {
        var essay = AnalyzerFactory.Analyze("Write a 1,500-word persuasive essay arguing that schools should start later.");
        var haiku = AnalyzerFactory.Analyze("write a haiku about monday mornings");

        Assert.InRange(essay.ExpectedOutputTokens, 1500, 2500);
        Assert.InRange(haiku.ExpectedOutputTokens, 10, 60);
    }
}
