namespace Router.Core.Analysis;

/// <summary>
/// Builds the input of the difficulty heads. Multiple-choice prompts and free-form prompts get separate structural
/// weights (length means something else in a word problem than in a quiz item), and neighbour failure rates are
/// appended when an embedding is available: prototype rates, then the rates of the 10 and 100 nearest exemplars.
/// </summary>
internal static class DifficultyFeatures
{
    public const int FastCount = (2 * StructuralFeatures.Count) + 1;
    public const int FullCount = FastCount + 12;
    private const int ChoicesIndex = 12;

    /// <summary>Writes the head input; returns the raw structural features in <paramref name="raw"/> for explanations.</summary>
    public static void Fill(double[] mean, double[] scale, in PromptSignals signals, Span<double> raw, Span<double> destination, (double Weak, double Strong)? neighbours,
        (double Weak10, double Strong10, double Weak100, double Strong100)? exemplars = null)
    {
        StructuralFeatures.Fill(signals, raw);
        var mcq = raw[ChoicesIndex];
        for (var j = 0; j < StructuralFeatures.Count; j++)
        {
            var z = (raw[j] - mean[j]) / scale[j];
            destination[j] = z * mcq;
            destination[StructuralFeatures.Count + j] = z * (1 - mcq);
        }

        destination[FastCount - 1] = mcq;
        if (neighbours is { } n)
        {
            destination[FastCount] = n.Weak;
            destination[FastCount + 1] = n.Strong;
            destination[FastCount + 2] = n.Weak * mcq;
            destination[FastCount + 3] = n.Strong * mcq;
            var e = exemplars ?? default;
            ReadOnlySpan<double> near = [e.Weak10, e.Strong10, e.Weak100, e.Strong100];
            for (var j = 0; j < near.Length; j++)
            {
                destination[FastCount + 4 + j] = near[j] * (1 - mcq);
                destination[FastCount + 8 + j] = near[j] * mcq;
            }
        }
    }
}
