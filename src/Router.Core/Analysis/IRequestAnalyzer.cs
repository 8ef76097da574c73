namespace Router.Core.Analysis;

/// <summary>Turns a chat request into a <see cref="RequestProfile"/>; never throws for any input.</summary>
public interface IRequestAnalyzer
{
    /// <summary>Analyses the request, computing the sentence embedding when an embedding generator is registered and enabled.</summary>
    ValueTask<RequestProfile> AnalyzeAsync(AnalysisRequest request, CancellationToken cancellationToken = default);

    /// <summary>Analyses the request with an embedding the caller already has (of <see cref="GetEmbeddingText"/>), or the keyword-only fast path when it is empty.</summary>
    RequestProfile Analyze(AnalysisRequest request, ReadOnlyMemory<float> embedding = default);

    /// <summary>The bounded text whose embedding the analyzer wants, so callers such as the semantic cache can compute it once; empty when there is nothing to embed.</summary>
    string GetEmbeddingText(AnalysisRequest request);

    /// <summary>
    /// <see cref="GetEmbeddingText"/> and, read from the same pass over the conversation, the bounded text of the final
    /// user turn, which the semantic cache compares (its scope holds the rest of the conversation). They differ when
    /// analysis reads more than that turn: a persona system prompt, or the earlier turn a follow-up edits.
    /// </summary>
    (string Analysis, string Cache) GetEmbeddingTexts(AnalysisRequest request);
}
