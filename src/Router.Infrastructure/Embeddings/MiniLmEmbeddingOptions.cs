using System.ComponentModel.DataAnnotations;

namespace Router.Infrastructure.Embeddings;

/// <summary>Settings of the local MiniLM sentence-embedding model, bound from <c>Router:Embeddings:MiniLm</c>.</summary>
public sealed class MiniLmEmbeddingOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Router:Embeddings:MiniLm";

    /// <summary>Word-piece tokens per input including [CLS] and [SEP] (default 128; the model's limit is 512). Cost grows with it.</summary>
    [Range(8, 512)]
    public int MaxTokens { get; set; } = 128;

    /// <summary>ONNX Runtime intra-op threads for one inference (default 1: on a small shared host parallel requests beat parallel matrix kernels).</summary>
    [Range(1, 64)]
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>Rewrite the model's weight matrices to int8 at load (dynamic quantisation; default true): about 2-3x faster, cosine ≥ 0.99 to float.</summary>
    public bool Quantize { get; set; } = true;
}
