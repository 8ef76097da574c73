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

        var index = new ExemplarIndex(4, 4, new float[4], identity, [.. bank], [.. weak], new byte[weak.Count]);
        var projected = new float[4];

        index.Project(Normalise([1, 0.02f, 0, 0]), projected);
        var nearFailures = index.Features(projected);
        index.Project(Normalise([0.02f, 1, 0, 0]), projected);
        var nearSuccesses = index.Features(projected);

        Assert.True(nearFailures.Weak10 > 1, $"{nearFailures.Weak10}");
        Assert.True(nearSuccesses.Weak10 < -1, $"{nearSuccesses.Weak10}");
        Assert.Equal(nearFailures.Weak100, nearSuccesses.Weak100, 9);
    }

    private static float[] Normalise(float[] v)
    {
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }
}
