using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace Router.Infrastructure.Embeddings;

/// <summary>One loaded MiniLM model per process and settings: loading and quantising takes seconds and ~100 MB, so
/// every service container in the process (tests start many) shares it, and none of them disposes it.</summary>
internal sealed class SharedMiniLm : IEmbeddingGenerator<string, Embedding<float>>
{
    private static readonly ConcurrentDictionary<(int MaxTokens, int Threads, bool Quantize), Lazy<MiniLmEmbeddingGenerator>> Models = new();
    private readonly MiniLmEmbeddingGenerator _model;

    public SharedMiniLm(MiniLmEmbeddingOptions options) =>
        _model = Models.GetOrAdd((options.MaxTokens, options.IntraOpThreads, options.Quantize), _ => new(() => new MiniLmEmbeddingGenerator(options))).Value;

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        _model.GenerateAsync(values, options, cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => _model.GetService(serviceType, serviceKey);

    public void Dispose()
    {
        // Shared by the whole process; released when it exits.
    }
}
