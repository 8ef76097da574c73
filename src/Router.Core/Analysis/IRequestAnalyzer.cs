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
    /// The bounded text of the final user turn, which the semantic cache compares (its scope holds the rest of the
    /// conversation). It differs from <see cref="GetEmbeddingText"/> when analysis reads more than that turn: a persona
    /// system prompt, or the earlier turn a follow-up edits. Empty when there is nothing to embed.
    /// </summary>
    string GetCacheEmbeddingText(AnalysisRequest request);
}
