using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

public sealed class ExemplarIndexTests
{
    [Fact]
    public void Prompts_near_failed_exemplars_get_a_higher_failure_estimate()
    {
        // Two directions in a 4-d embedding space, identity projection: exemplars along x failed, along y succeeded.
        float[] identity = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        var bank = new List<float>();
        var weak = new List<byte>();
        for (var i = 0; i < 20; i++)
        {
            var t = i / 100f;
            bank.AddRange(Normalise([1, t, 0.05f, 0]));
            weak.Add(255);
            bank.AddRange(Normalise([t, 1, 0, 0.05f]));
            weak.Add(0);
        }

        var codes = bank.Select(v => (sbyte)MathF.Round(v * 127)).ToArray();
        var index = new ExemplarIndex(4, 4, new float[4], identity, codes, [.. weak], new byte[weak.Count]);
        var projected = new float[4];

        index.Project(Normalise([1, 0.02f, 0, 0]), projected);
        var nearFailures = index.Features(projected);
        index.Project(Normalise([0.02f, 1, 0, 0]), projected);
        var nearSuccesses = index.Features(projected);

        // A query whose largest component is negative, yet nearer the failures than the successes.
        index.Project(Normalise([0.6f, 0, 0, -0.8f]), projected);
        var negativeComponent = index.Features(projected);

        Assert.True(nearFailures.Weak10 > 1, $"{nearFailures.Weak10}");
        Assert.True(nearSuccesses.Weak10 < -1, $"{nearSuccesses.Weak10}");
        Assert.Equal(nearFailures.Weak100, nearSuccesses.Weak100, 9);
        Assert.True(negativeComponent.Weak10 > 1, $"{negativeComponent.Weak10}");
    }

    private static float[] Normalise(float[] v)
    {
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }

    [Theory]
    [InlineData(4)]
    [InlineData(16)]
    [InlineData(96)]
    [InlineData(100)]
    public void The_integer_dot_product_matches_the_scalar_sum(int length)
    {
        var random = new Random(length);
        var query = Enumerable.Range(0, length).Select(_ => (short)random.Next(-32767, 32768)).ToArray();
        var codes = Enumerable.Range(0, length).Select(_ => (sbyte)random.Next(-127, 128)).ToArray();

        var expected = query.Zip(codes, (q, c) => (long)q * c).Sum();

        Assert.Equal(expected, ExemplarIndex.Dot(query, codes));
    }
}
