using System.Numerics.Tensors;
using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

/// <summary>The task model keeps its lexical weights bucket-major for the cache's sake; the arithmetic must be the
/// shipped model's class-major formula, bucket for bucket.</summary>
public sealed class TaskModelLexicalTests
{
    [Fact]
    public void Bucket_major_lexical_weights_give_the_class_major_formulas_probabilities()
    {
        var model = TaskModel.LoadEmbedded();
        var file = model.File;
        Assert.True(file.LexicalWeightFast > 0, "the shipped model uses its lexical part on the fast path");
        var classes = model.Classes.Length;
        var random = new Random(7);
        Span<float> features = stackalloc float[TaskFeatures.Count];
        for (var trial = 0; trial < 50; trial++)
        {
            for (var i = 0; i < features.Length; i++)
            {
                features[i] = random.Next(2);
            }

            var buckets = Enumerable.Range(0, random.Next(1, 60)).Select(_ => random.Next(LexicalFeatures.Buckets)).ToArray();
            var actual = new float[classes];
            model.Predict(default, features, buckets, actual);

            // The reference: dense probabilities, then the lexical softmax from the class-major rows, blended in log space.
            var dense = new float[classes];
            model.Predict(default, features, [], dense);
            var lexical = new float[classes];
            var norm = 1f / MathF.Sqrt(buckets.Length);
            for (var c = 0; c < classes; c++)
            {
                var z = file.Lexical.Bias[c];
                foreach (var b in buckets)
                {
                    z += file.Lexical.Weights[c][b] * norm;
                }

                lexical[c] = z;
            }

            TensorPrimitives.SoftMax(lexical, lexical);
            var expected = new float[classes];
            var w = file.LexicalWeightFast;
            for (var c = 0; c < classes; c++)
            {
                expected[c] = ((1 - w) * MathF.Log(dense[c] + 1e-9f)) + (w * MathF.Log(lexical[c] + 1e-9f));
            }

            TensorPrimitives.SoftMax(expected, expected);
            for (var c = 0; c < classes; c++)
            {
                Assert.Equal(expected[c], actual[c], 6);
            }
        }
    }
}
