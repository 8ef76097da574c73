using Microsoft.ML.Tokenizers;

namespace Router.Core.Analysis;

/// <summary>Counts tokens with the o200k encoding (GPT-4o family), used where a provider reports no usage.</summary>
public sealed class TokenCounter
{
    private readonly Tokenizer _encoding = TiktokenTokenizer.CreateForEncoding("o200k_base");

    /// <summary>Tokens in <paramref name="text"/>.</summary>
    public int Count(string text) => string.IsNullOrEmpty(text) ? 0 : BoundedTokenCount.Count(_encoding, text);
}
