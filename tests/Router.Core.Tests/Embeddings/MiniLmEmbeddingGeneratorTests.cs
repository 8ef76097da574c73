using System.Numerics.Tensors;
using Router.Infrastructure.Embeddings;

namespace Router.Core.Tests.Embeddings;

public sealed class MiniLmFixture : IDisposable
{
    public MiniLmEmbeddingGenerator Quantized { get; } = new(new MiniLmEmbeddingOptions { Quantize = true });

    public MiniLmEmbeddingGenerator FullPrecision { get; } = new(new MiniLmEmbeddingOptions { Quantize = false });

    public void Dispose()
    {
        Quantized.Dispose();
        FullPrecision.Dispose();
    }
}

public sealed class MiniLmEmbeddingGeneratorTests(MiniLmFixture fixture) : IClassFixture<MiniLmFixture>
{
    [Fact]
    public async Task Embeddings_are_384_dimensional_unit_vectors()
    {
        var result = await fixture.Quantized.GenerateAsync(["how do i reverse a list in python"]);

        Assert.Equal(384, result[0].Vector.Length);
        Assert.Equal(1f, TensorPrimitives.Norm(result[0].Vector.Span), 3);
    }

    [Fact]
    public async Task Paraphrases_are_closer_than_unrelated_texts()
    {
        var v = await fixture.Quantized.GenerateAsync(["How do I reverse a list in Python?", "python: reverse the order of a list", "Write a haiku about autumn leaves"]);

        var paraphrase = TensorPrimitives.CosineSimilarity(v[0].Vector.Span, v[1].Vector.Span);
        var unrelated = TensorPrimitives.CosineSimilarity(v[0].Vector.Span, v[2].Vector.Span);

        Assert.True(paraphrase > unrelated + 0.3f, $"{paraphrase} vs {unrelated}");
    }

    [Fact]
    public async Task Int8_weights_stay_close_to_the_float_model()
    {
        string[] texts = ["Summarize this article in three bullet points", "我们公司成立于2015年", "kill the process on port 8080"];

        var q = await fixture.Quantized.GenerateAsync(texts);
        var f = await fixture.FullPrecision.GenerateAsync(texts);

        for (var i = 0; i < texts.Length; i++)
        {
            Assert.True(TensorPrimitives.CosineSimilarity(q[i].Vector.Span, f[i].Vector.Span) > 0.97f, texts[i]);
        }
    }

    [Fact]
    public async Task A_batch_gives_the_same_vectors_as_single_calls()
    {
        string[] texts = ["short", "a somewhat longer sentence that needs more word pieces than the first one"];

        var batch = await fixture.FullPrecision.GenerateAsync(texts);
        var single = await fixture.FullPrecision.GenerateAsync([texts[0]]);

        Assert.True(TensorPrimitives.CosineSimilarity(batch[0].Vector.Span, single[0].Vector.Span) > 0.9999f);
    }

    [Fact]
    public async Task Empty_huge_and_malformed_inputs_embed_without_error()
    {
        var result = await fixture.Quantized.GenerateAsync(["", new string('z', 1_000_000), "bad \uD800 surrogate", "🙂"]);

        Assert.Equal(4, result.Count);
        Assert.All(result, e => Assert.False(float.IsNaN(e.Vector.Span[0])));
        Assert.True(fixture.Quantized.Tokenize(new string('z', 1_000_000)).Count <= fixture.Quantized.MaxTokens);
    }
}
