using Microsoft.ML.Tokenizers;

namespace Router.Core.Analysis;

/// <summary>Counts prompt tokens with the o200k tokenizer (GPT-4o family), with OpenAI's chat overhead per message.</summary>
internal sealed class PromptTokenCounter
{
    /// <summary>Tokens OpenAI adds around each chat message.</summary>
    public const int PerMessageOverhead = 3;

    /// <summary>Tokens that prime the assistant's reply.</summary>
    public const int ReplyPriming = 3;

    /// <summary>Nominal tokens for an image part (OpenAI's low-detail cost); the real cost depends on size and detail.</summary>
    public const int PerImage = 85;

    private const int SampleChars = 64 * 1024;

    private static readonly Lazy<Tokenizer> SharedTokenizer = new(() => TiktokenTokenizer.CreateForModel("gpt-4o"));

    private readonly int _exactMaxChars;

    public PromptTokenCounter(int exactMaxChars) => _exactMaxChars = exactMaxChars;

    public int Count(AnalysisRequest request) => Count(request, null, out _);

    /// <summary>Counts the request's prompt tokens; when one message's text equals <paramref name="text"/> (the routed
    /// turn, usually), its count is returned in <paramref name="textTokens"/> (else -1), so it is not counted twice.</summary>
    public int Count(AnalysisRequest request, string? text, out int textTokens)
    {
        textTokens = -1;
        var messages = request.Messages ?? [];
        long total = ReplyPriming;
        foreach (var message in messages)
        {
            if (message is null)
            {
                continue;
            }

            total += PerMessageOverhead;
            if (message.HasImage)
            {
                total += PerImage;
            }

            if (!string.IsNullOrEmpty(message.Text))
            {
                var tokens = CountText(message.Text);
                total += tokens;
                if (textTokens < 0 && string.Equals(message.Text, text, StringComparison.Ordinal))
                {
                    textTokens = tokens;
                }
            }
        }

        return (int)Math.Min(total, int.MaxValue);
    }

    public int CountText(string text)
    {
        var tokenizer = SharedTokenizer.Value;
        if (text.Length <= _exactMaxChars)
        {
            return BoundedTokenCount.Count(tokenizer, TextWindow.Sanitize(text));
        }

        // Beyond the exact limit, count a head and a tail sample and extrapolate by characters.
        var sample = TextWindow.HeadAndTail(text, SampleChars, SampleChars);
        var sampled = BoundedTokenCount.Count(tokenizer, TextWindow.Sanitize(sample));
        return (int)Math.Min(int.MaxValue, (long)Math.Ceiling(sampled * ((double)text.Length / sample.Length)));
    }
}
