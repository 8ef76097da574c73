using Router.Core.Analysis;

namespace Router.Evaluation.Training;

/// <summary>
/// One prompt with both models' outcomes, as the trainer consumes it. <c>Group</c> is the file it came from: each
/// group carries the same total weight, so a small file is not drowned.
/// </summary>
internal sealed record TrainingExample(string Text, float[] Embedding, double StrongQuality, double WeakQuality, string Group);

/// <summary>Options of <see cref="DifficultyModelTrainer"/>; the defaults are the ones the shipped artefact uses.</summary>
internal sealed record TrainerOptions
{
    public int Prototypes { get; init; } = 256;

    public int KMeansIterations { get; init; } = 12;

    public int Seed { get; init; } = 7;

    /// <summary>Pseudo-count pulling each prototype's failure rate towards the global rate.</summary>
    public double PrototypeSmoothing { get; init; } = 10;

    public double Temperature { get; init; } = 20;

    public int Top { get; init; } = 8;

    /// <summary>Pull the economy-failure head towards a hand-set direction rather than zero.</summary>
    public bool UsePrior { get; init; } = true;

    /// <summary>Principal directions kept for the exemplar index (0 disables the index).</summary>
    public int ExemplarDimensions { get; init; } = 96;

    /// <summary>
    /// Learn from the nearest exemplars on free-form prompts too. Off: on word problems similar questions did not
    /// share outcomes and the weights only fitted noise.
    /// </summary>
    public bool FreeFormExemplars { get; init; }

    /// <summary>Folds for the out-of-fold neighbour features of training rows.</summary>
    public int CrossFitFolds { get; init; } = 5;

    /// <summary>L2 penalty of the economy-failure heads.</summary>
    public double L2 { get; init; } = 10;

    /// <summary>L2 penalty of the premium-failure heads: premium failures are rarer, so their head is shrunk harder.</summary>
    public double L2Strong { get; init; } = 10;

    /// <summary>
    /// Structural features learned for free-form prompts. On the development data only length carried signal (the
    /// word-problem half is 330 rows); the others keep the hand-set prior weights instead of fitted noise.
    /// </summary>
    public IReadOnlySet<string> FreeFormLearned { get; init; } = new HashSet<string> { "length" };

    /// <summary>
    /// Structural features learned for multiple-choice prompts. Numeric options mark calculation items, where the
    /// premium model fails about as often as the economy one on the development data (gain near zero).
    /// </summary>
    public IReadOnlySet<string> ChoiceLearned { get; init; } = new HashSet<string> { "length", "negations", "quantities", "numeric_choices" };
}

/// <summary>Scores of the training rows themselves, computed out-of-fold for the neighbour part.</summary>
internal sealed record TrainedModel(DifficultyModel Model, double[] FullComplexity, double[] FullGain, double[] FastComplexity, double[] FastGain)
{
    /// <summary>Head inputs of the training rows as inference would build them (neighbour parts out-of-fold), before masking.</summary>
    public double[][] FullFeatures { get; init; } = [];

    /// <summary>Training weight of each row (files weighted equally).</summary>
    public double[] Weight { get; init; } = [];
}

/// <summary>
/// Fits <see cref="DifficultyModel"/>: topic prototypes by spherical k-means over the embeddings, their smoothed
/// failure rates, then logistic heads for economy and premium failure (soft labels 1 − quality, so judged scores work).
/// A training row's neighbour features leave the row itself out, so the heads learn how much to trust neighbours on
/// unseen prompts rather than on memorised ones.
/// </summary>
internal static class DifficultyModelTrainer
{
    public static TrainedModel Train(IReadOnlyList<TrainingExample> examples, TrainerOptions options, string provenance, Action<string>? log = null)
    {
        var n = examples.Count;
        var d = examples[0].Embedding.Length;
        var groupCounts = examples.GroupBy(e => e.Group).ToDictionary(g => g.Key, g => g.Count());
        var weight = examples.Select(e => n / (double)(groupCounts.Count * groupCounts[e.Group])).ToArray();

        // Structural features and their standardisation.
        var raw = new double[n][];
        for (var i = 0; i < n; i++)
        {
            raw[i] = new double[StructuralFeatures.Count];
            StructuralFeatures.Fill(PromptSignals.Extract(examples[i].Text), raw[i]);
        }

        var mean = new double[StructuralFeatures.Count];
        var scale = new double[StructuralFeatures.Count];
        var totalWeight = weight.Sum();
        for (var j = 0; j < StructuralFeatures.Count; j++)
        {
            mean[j] = Enumerable.Range(0, n).Sum(i => weight[i] * raw[i][j]) / totalWeight;
            scale[j] = Math.Sqrt(Enumerable.Range(0, n).Sum(i => weight[i] * Math.Pow(raw[i][j] - mean[j], 2)) / totalWeight) + 1e-6;
        }

        // Topic prototypes and their failure rates.
        log?.Invoke($"k-means: {options.Prototypes} prototypes over {n} prompts");
        var centroids = SphericalKMeans.Fit(examples.Select(e => e.Embedding).ToList(), options.Prototypes, options.KMeansIterations, options.Seed);
        var k = centroids.Length;
        var flat = new float[k * d];
        for (var c = 0; c < k; c++)
        {
            centroids[c].CopyTo(flat, c * d);
        }

        // Stored as half floats: train against exactly what inference will read.
        flat = HalfCodec.Decode(HalfCodec.Encode(flat));
        var assign = new int[n];
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i => assign[i] = SphericalKMeans.Nearest(examples[i].Embedding, centroids));
        var sumWeak = new double[k];
        var sumStrong = new double[k];
        var mass = new double[k];
        for (var i = 0; i < n; i++)
        {
            sumWeak[assign[i]] += weight[i] * (1 - examples[i].WeakQuality);
            sumStrong[assign[i]] += weight[i] * (1 - examples[i].StrongQuality);
            mass[assign[i]] += weight[i];
        }

        var globalWeak = sumWeak.Sum() / totalWeight;
        var globalStrong = sumStrong.Sum() / totalWeight;
        var alpha = options.PrototypeSmoothing;
        double[] Rates(double[] sums, double global) => [.. Enumerable.Range(0, k).Select(c => (sums[c] + (alpha * global)) / (mass[c] + alpha))];
        double[] Mass() => [.. mass.Select(m => Math.Sqrt(m + 1))];

        var rateWeak = Rates(sumWeak, globalWeak);
        var rateStrong = Rates(sumStrong, globalStrong);
        var protoMass = Mass();

        // Out-of-fold neighbour features for the training rows: each row sees prototype rates computed without its
        // own fold. (Leave-one-out would be anti-correlated with the row's own outcome: removing a failure lowers the rate.)
        var neighbours = new (double Weak, double Strong)[n];
        var rowFold = Enumerable.Range(0, n).Select(i => (int)((uint)StableHash(examples[i].Text) % (uint)options.CrossFitFolds)).ToArray();
        for (var f = 0; f < options.CrossFitFolds; f++)
        {
            var sw = new double[k];
            var ss = new double[k];
            var sm = new double[k];
            for (var i = 0; i < n; i++)
            {
                if (rowFold[i] != f)
                {
                    sw[assign[i]] += weight[i] * (1 - examples[i].WeakQuality);
                    ss[assign[i]] += weight[i] * (1 - examples[i].StrongQuality);
                    sm[assign[i]] += weight[i];
                }
            }

            // With a handful of rows every one may fall in this fold: nothing out of fold, so the neutral rate 0.5.
            var outOfFold = sm.Sum();
            var gw = outOfFold > 0 ? sw.Sum() / outOfFold : 0.5;
            var gs = outOfFold > 0 ? ss.Sum() / outOfFold : 0.5;
            var rw = Enumerable.Range(0, k).Select(c => (sw[c] + (alpha * gw)) / (sm[c] + alpha)).ToArray();
            var rs = Enumerable.Range(0, k).Select(c => (ss[c] + (alpha * gs)) / (sm[c] + alpha)).ToArray();
            var pm = sm.Select(m => Math.Sqrt(m + 1)).ToArray();
            for (var i = 0; i < n; i++)
            {
                if (rowFold[i] == f)
                {
                    neighbours[i] = DifficultyModel.NeighbourFailureLogits(examples[i].Embedding, flat, d, rw, rs, pm, options.Temperature, options.Top);
                }
            }
        }

        // Exemplar index: PCA-projected, int8 training prompts with their outcomes; out-of-fold features as above.
        ExemplarIndex? index = null;
        string? exMean = null, exProjection = null, exBank = null, exWeak = null, exStrong = null;
        var exemplarFeatures = new (double, double, double, double)[n];
        if (options.ExemplarDimensions > 0)
        {
            log?.Invoke($"exemplar index: PCA to {options.ExemplarDimensions} dimensions");
            var p = options.ExemplarDimensions;
            var (pcaMean, projection) = PrincipalComponents.Fit(examples.Select(e => e.Embedding).ToList(), p);
            pcaMean = HalfCodec.Decode(HalfCodec.Encode(pcaMean));
            projection = HalfCodec.Decode(HalfCodec.Encode(projection));
            var weakBytes = examples.Select(e => (byte)Math.Round(255 * Math.Clamp(1 - e.WeakQuality, 0, 1))).ToArray();
            var strongBytes = examples.Select(e => (byte)Math.Round(255 * Math.Clamp(1 - e.StrongQuality, 0, 1))).ToArray();
            var projector = new ExemplarIndex(d, p, pcaMean, projection, [], [], []);
            var bankBytes = new byte[n * p];
            var projected = new float[p];
            for (var i = 0; i < n; i++)
            {
                projector.Project(examples[i].Embedding, projected);
                for (var j = 0; j < p; j++)
                {
                    bankBytes[(i * p) + j] = (byte)(sbyte)Math.Clamp(Math.Round(projected[j] * 127), -127, 127);
                }
            }

            exMean = HalfCodec.Encode(pcaMean);
            exProjection = HalfCodec.Encode(projection);
            exBank = Convert.ToBase64String(bankBytes);
            exWeak = Convert.ToBase64String(weakBytes);
            exStrong = Convert.ToBase64String(strongBytes);
            var codes = bankBytes.Select(b => (sbyte)b).ToArray();
            var bank = codes.Select(b => b / 127f).ToArray();
            index = new ExemplarIndex(d, p, pcaMean, projection, codes, weakBytes, strongBytes);
            log?.Invoke("exemplar features (out-of-fold)");
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
            {
                var row = bank.AsSpan(i * p, p).ToArray();
                var f = rowFold[i];
                exemplarFeatures[i] = index.Features(row, e => rowFold[e] == f);
            });
        }

        // Heads.
        var fastX = new List<double[]>(n);
        var fullX = new List<double[]>(n);
        var rawScratch = new double[StructuralFeatures.Count];
        for (var i = 0; i < n; i++)
        {
            var x = new double[DifficultyFeatures.FullCount];
            DifficultyFeatures.Fill(mean, scale, PromptSignals.Extract(examples[i].Text), rawScratch, x, neighbours[i], index is null ? null : exemplarFeatures[i]);
            fullX.Add(x);
            fastX.Add(x[..DifficultyFeatures.FastCount]);
        }

        var unmasked = fullX.Select(x => (double[])x.Clone()).ToArray();

        // Columns not learned are zeroed in training, so the penalty leaves their weight at the prior (zero for the
        // premium head, the hand-set direction for the economy head) and inference needs no mask.
        var mcqKeep = Keep(options.ChoiceLearned);
        var freeKeep = Keep(options.FreeFormLearned);
        foreach (var x in fullX.Concat(fastX))
        {
            for (var j = 0; j < StructuralFeatures.Count; j++)
            {
                if (!mcqKeep(j))
                {
                    x[j] = 0;
                }

                if (!freeKeep(j))
                {
                    x[StructuralFeatures.Count + j] = 0;
                }
            }
        }

        if (!options.FreeFormExemplars)
        {
            foreach (var x in fullX)
            {
                x.AsSpan(DifficultyFeatures.FastCount + 4, 4).Clear();
            }
        }

        var yWeak = examples.Select(e => 1 - e.WeakQuality).ToList();
        var yStrong = examples.Select(e => 1 - e.StrongQuality).ToList();
        log?.Invoke("fitting heads");
        LogisticHead Head(List<double[]> x, List<double> y, double l2, double[]? prior = null)
        {
            var beta = LinearModels.FitLogistic(x, y, l2, weight, prior: prior is null ? null : prior[..x[0].Length]);
            return new LogisticHead(beta[..^1], beta[^1]);
        }

        var prior = options.UsePrior ? WeakFailurePrior() : null;
        var fastWeak = Head(fastX, yWeak, options.L2, prior);
        var fastStrong = Head(fastX, yStrong, options.L2Strong);
        var fullWeak = Head(fullX, yWeak, options.L2, prior);
        var fullStrong = Head(fullX, yStrong, options.L2Strong);

        // Reference distribution: the 1-10 complexity scale is the gain's percentile on training traffic (files weighted equally).
        var (fastComplexity, fastGain) = Scores(fastX, fastWeak, fastStrong);
        var (fullComplexity, fullGain) = Scores(fullX, fullWeak, fullStrong);
        var data = new DifficultyModelData
        {
            Provenance = provenance,
            Dimensions = d,
            FeatureMean = mean,
            FeatureScale = scale,
            Prototypes = HalfCodec.Encode(flat),
            PrototypeWeakFail = rateWeak,
            PrototypeStrongFail = rateStrong,
            PrototypeMass = protoMass,
            PrototypeTemperature = options.Temperature,
            PrototypeTop = options.Top,
            ExemplarDimensions = index is null ? 0 : options.ExemplarDimensions,
            ExemplarMean = exMean,
            ExemplarProjection = exProjection,
            Exemplars = exBank,
            ExemplarWeakFail = exWeak,
            ExemplarStrongFail = exStrong,
            FastWeakFail = fastWeak,
            FastStrongFail = fastStrong,
            FullWeakFail = fullWeak,
            FullStrongFail = fullStrong,
            FastGainPercentiles = PercentileTable(fastGain, weight),
            FullGainPercentiles = PercentileTable(fullGain, weight),
        };

        return new TrainedModel(new DifficultyModel(data), fullComplexity, fullGain, fastComplexity, fastGain) { FullFeatures = unmasked, Weight = weight };
    }

    /// <summary>
    /// Hand-set direction for the economy-failure head on free-form prompts: longer, multi-step, multi-part,
    /// constrained, code and math prompts fail more. The penalty pulls weights here instead of to zero, so signals
    /// the training files barely exercise (code, constraints) keep a sensible effect on other traffic.
    /// </summary>
    private static double[] WeakFailurePrior()
    {
        var prior = new double[DifficultyFeatures.FullCount];
        var free = StructuralFeatures.Count;
        void Set(string name, double w) => prior[free + StructuralFeatures.Names.ToList().IndexOf(name)] = w;
        Set("length", 0.4);
        Set("steps", 0.15);
        Set("parts", 0.1);
        Set("constraints", 0.1);
        Set("code", 0.1);
        Set("reasoning", 0.1);
        Set("math", 0.1);
        Set("domain", 0.1);
        return prior;
    }

    private static Func<int, bool> Keep(IReadOnlySet<string>? names) =>
        names is null ? _ => true : j => names.Contains(StructuralFeatures.Names[j]);

    /// <summary>FNV-1a over the text: a fold assignment that does not depend on row order.</summary>
    private static int StableHash(string text)
    {
        var h = 2166136261u;
        foreach (var ch in text)
        {
            h = (h ^ ch) * 16777619u;
        }

        return (int)(h & 0x7fffffff);
    }

    private static (double[] Complexity, double[] Gain) Scores(List<double[]> x, LogisticHead weak, LogisticHead strong)
    {
        var complexity = new double[x.Count];
        var gain = new double[x.Count];
        for (var i = 0; i < x.Count; i++)
        {
            var pw = LinearModels.Sigmoid(weak.Logit(x[i]));
            var ps = LinearModels.Sigmoid(strong.Logit(x[i]));
            complexity[i] = DifficultyModel.Logit(pw * (1 - ps));
            gain[i] = pw - ps;
        }

        return (complexity, gain);
    }

    /// <summary>Entry i is the score exceeded by i% of the (weighted) reference prompts; non-increasing by construction.</summary>
    private static double[] PercentileTable(double[] scores, double[] weight)
    {
        var table = new double[101];
        for (var i = 0; i <= 100; i++)
        {
            table[i] = WeightedQuantile(scores, weight, 1 - (i / 100.0));
        }

        var min = scores.Min();
        var max = scores.Max();
        table[0] = max;
        table[100] = min - 1e-9;
        for (var i = 1; i <= 100; i++)
        {
            table[i] = Math.Min(table[i], table[i - 1]);
        }

        return table;
    }

    private static double WeightedQuantile(double[] values, double[] weight, double q)
    {
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var total = weight.Sum();
        var acc = 0.0;
        foreach (var i in order)
        {
            acc += weight[i];
            if (acc >= q * total)
            {
                return values[i];
            }
        }

        return values[order[^1]];
    }
}
