using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Numerics.Tensors;
using Router.Bench;
using Router.Caching.Evaluation;
using Router.Core.Caching;
using Router.Infrastructure.Embeddings;

// Evaluates the semantic cache's serve decision (cosine threshold + guards) on labelled query/candidate pairs.
// Usage: dotnet run -c Release --project bench/Router.Caching.Evaluation -- [--data FILE|DIR] [--errors N] [--threads N]
var dataPath = CachePairFile.Resolve(Arg("--data") ?? Environment.GetEnvironmentVariable("ROUTER_CACHE_PAIRS") ?? "/work/shared/data");
var showErrors = int.Parse(Arg("--errors") ?? "0", CultureInfo.InvariantCulture);
var threads = int.Parse(Arg("--threads") ?? "2", CultureInfo.InvariantCulture);
var inv = CultureInfo.InvariantCulture;

if (!File.Exists(dataPath))
{
    Console.Error.WriteLine($"No cache-pairs file at {dataPath} (use --data FILE or a folder with cache_pairs*.jsonl).");
    return 2;
}

var skipped = new SkippedRows();
var rows = CachePairFile.Load(dataPath, skipped);
Console.WriteLine($"data: {dataPath} ({rows.Count} pairs{(skipped.Total > 0 ? $"; {skipped}" : "")})");
Console.WriteLine("provenance: cache pairs derived from GPTCache mock data (MIT, zilliztech/GPTCache), MMLU and Arena-Hard prompts (Apache-2.0, MIT)");
if (rows.Count == 0)
{
    Console.WriteLine("no pairs to evaluate: every metric is n/a");
    return 0;
}


var vectors = await EmbedAllAsync(rows, threads);
var guard = new SemanticGuard(new SemanticGuardOptions());
var guardWatch = new Stopwatch();
var scored = new List<(PairRow Row, ScoredPair Pair, GuardVerdict Verdict)>(rows.Count);
foreach (var r in rows)
{
    guardWatch.Start();
    var verdict = guard.Check(r.Query, r.Candidate);
    guardWatch.Stop();
    var cos = TensorPrimitives.Dot(vectors[r.Query], vectors[r.Candidate]);
    scored.Add((r, new ScoredPair(cos, verdict.Accepted, r.Label == 1), verdict));
}

// Time the guards once warm: extraction of both prompts, then the check, per pair.
var warm = Stopwatch.StartNew();
var features = rows.Select(r => (Q: PromptFeatures.Extract(r.Query), C: PromptFeatures.Extract(r.Candidate))).ToList();
var extractMicros = warm.Elapsed.TotalMicroseconds / (2 * rows.Count);
warm.Restart();
foreach (var (q, c) in features)
{
    guard.Check(q, c);
}

var checkMicros = warm.Elapsed.TotalMicroseconds / rows.Count;
var defaultThreshold = SemanticCacheOptions.DefaultSimilarityThreshold;
Console.WriteLine($"guards: first pass {guardWatch.Elapsed.TotalMicroseconds / rows.Count:F1} µs per pair (cold); warm: {extractMicros:F1} µs to extract one prompt's features (mean prompt {rows.Average(r => r.Query.Length):F0} chars), {checkMicros:F2} µs to check a pair");
Console.WriteLine($"default threshold (SemanticCacheOptions.DefaultSimilarityThreshold): {defaultThreshold.ToString("F2", inv)}");
Console.WriteLine();

var all = scored.Select(s => s.Pair).ToList();
PrintSweep("overall, cosine only", all, useGuards: false);
PrintSweep("overall, cosine + guards", all, useGuards: true);

var types = rows.Select(r => r.PairType).Distinct().OrderBy(t => t, StringComparer.Ordinal).ToList();
var positives = scored.Where(s => s.Pair.ShouldServe).Select(s => s.Pair).ToList();
Console.WriteLine("## Per pair_type at each threshold: positives' recall; each negative family's false-serve rate and the precision of");
Console.WriteLine("## all positives against that family alone. Columns: cosine only | cosine + guards.");
Console.WriteLine();
PrintPerType(thresholds: [0.80f, 0.85f, 0.88f, 0.90f, 0.92f, 0.94f, 0.96f]);

// Where each guard bites, at the default threshold.
Console.WriteLine($"## Guard attribution at threshold {defaultThreshold.ToString("F2", inv)} (pairs above the threshold)");
Console.WriteLine("| guard | negatives rejected (correct) | positives rejected (lost hits) |");
Console.WriteLine("|---|---:|---:|");
foreach (var flag in Enum.GetValues<GuardRejections>().Where(f => f != GuardRejections.None))
{
    var above = scored.Where(s => s.Pair.Similarity >= defaultThreshold && s.Verdict.Rejections.HasFlag(flag)).ToList();
    Console.WriteLine($"| {flag} | {above.Count(s => !s.Pair.ShouldServe)} | {above.Count(s => s.Pair.ShouldServe)} |");
}

Console.WriteLine();

// Leave-one-out ablation: what each guard buys at the default threshold.
Console.WriteLine($"## Guard ablation at threshold {defaultThreshold.ToString("F2", inv)}: all guards, then each one switched off");
Console.WriteLine("| guards | TP | FP | precision | recall | F1 |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
var ablations = new (string Name, Action<SemanticGuardOptions> Off)[]
{
    ("all", _ => { }),
    ("without Number", o => o.Numbers = false),
    ("without Entity", o => o.Entities = false),
    ("without Negation", o => o.Negations = false),
    ("without CodeIdentifier", o => o.CodeIdentifiers = false),
    ("without Choices", o => o.Choices = false),
    ("without NearDuplicate", o => o.NearDuplicates = false),
    ("none", o => { o.Numbers = o.Entities = o.Negations = o.CodeIdentifiers = o.Choices = o.NearDuplicates = false; }),
};
foreach (var (name, off) in ablations)
{
    var options = new SemanticGuardOptions();
    off(options);
    var variant = new SemanticGuard(options);
    var pairs = scored.Select((s, k) => s.Pair with { GuardsAccept = variant.Check(features[k].Q, features[k].C).Accepted }).ToList();
    var p = ThresholdCalibration.Evaluate(pairs, useGuards: true, defaultThreshold);
    Console.WriteLine($"| {name} | {p.TruePositives} | {p.FalsePositives} | {F(p.Precision)} | {F(p.Recall)} | {F(p.F1)} |");
}

Console.WriteLine();

// Calibration: recommend from the data, and check generalisation on a 2-fold split by hash of id.
var sweepAll = ThresholdCalibration.Sweep(all, useGuards: true);
var recommended = ThresholdCalibration.Recommend(sweepAll, targetPrecision: 0.99, margin: 0.02f);
Console.WriteLine($"## Calibration: lowest threshold with precision ≥ 0.99 at and above it, + 0.02 margin: {recommended?.ToString("F2", inv) ?? "none"}");
Console.WriteLine();
Console.WriteLine("## 2-fold split by SHA-256(id): calibrate on one fold (target 0.99, margin 0.02), test on the other; and the default on each fold");
Console.WriteLine("| fold | n | calibrated on other fold | P | R | F1 | default P | default R | default F1 | default FP |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (var fold = 0; fold < 2; fold++)
{
    var test = scored.Where(s => Fold(s.Row.Id) == fold).Select(s => s.Pair).ToList();
    var train = scored.Where(s => Fold(s.Row.Id) != fold).Select(s => s.Pair).ToList();
    var t = ThresholdCalibration.Recommend(ThresholdCalibration.Sweep(train, useGuards: true), 0.99, 0.02f) ?? 0.99f;
    var onTest = ThresholdCalibration.Evaluate(test, true, t);
    var dflt = ThresholdCalibration.Evaluate(test, true, defaultThreshold);
    Console.WriteLine($"| {fold} | {test.Count} | {t.ToString("F2", inv)} | {F(onTest.Precision)} | {F(onTest.Recall)} | {F(onTest.F1)} | {F(dflt.Precision)} | {F(dflt.Recall)} | {F(dflt.F1)} | {dflt.FalsePositives} |");
}

Console.WriteLine();
if (showErrors > 0)
{
    PrintErrors();
}

if (Arg("--dump") is { } dumpPath)
{
    using var dump = new StreamWriter(dumpPath);
    dump.WriteLine("id\ttype\tlabel\tcos\trejections\toverlap\tdiffering\tnegq\tnegc");
    foreach (var s in scored)
    {
        var fq = PromptFeatures.Extract(s.Row.Query);
        var fc = PromptFeatures.Extract(s.Row.Candidate);
        var (overlap, differing) = SemanticGuard.ContentOverlap(fq, fc);
        dump.WriteLine(string.Join('\t', s.Row.Id, s.Row.PairType, s.Row.Label, s.Pair.Similarity.ToString("F4", inv), (int)s.Verdict.Rejections, overlap.ToString("F3", inv), differing, fq.Negations, fc.Negations));
    }
}

return 0;

void PrintSweep(string title, List<ScoredPair> pairs, bool useGuards)
{
    Console.WriteLine($"## {title}");
    Console.WriteLine("| threshold | TP | FP | FN | TN | precision | recall | F1 |");
    Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
    foreach (var p in ThresholdCalibration.Sweep(pairs, useGuards))
    {
        var mark = MathF.Abs(p.Threshold - defaultThreshold) < 0.0005f ? " **← default**" : string.Empty;
        Console.WriteLine($"| {p.Threshold.ToString("F2", inv)}{mark} | {p.TruePositives} | {p.FalsePositives} | {p.FalseNegatives} | {p.TrueNegatives} | {F(p.Precision)} | {F(p.Recall)} | {F(p.F1)} |");
    }

    Console.WriteLine();
}

void PrintPerType(float[] thresholds)
{
    var header = new StringBuilder("| pair_type | n | metric |");
    var rule = new StringBuilder("|---|---:|---|");
    foreach (var t in thresholds.Append(defaultThreshold).Distinct().Order())
    {
        var mark = MathF.Abs(t - defaultThreshold) < 0.0005f ? "*" : string.Empty;
        header.Append(CultureInfo.InvariantCulture, $" {t:F2}{mark} |");
        rule.Append("---:|");
    }

    Console.WriteLine(header);
    Console.WriteLine(rule);
    var ts = thresholds.Append(defaultThreshold).Distinct().Order().ToArray();
    foreach (var type in types)
    {
        var ofType = scored.Where(s => s.Row.PairType == type).Select(s => s.Pair).ToList();
        if (ofType.All(p => p.ShouldServe))
        {
            Row(type, ofType.Count, "recall", t => Pct(ThresholdCalibration.Evaluate(ofType, false, t).Recall), t => Pct(ThresholdCalibration.Evaluate(ofType, true, t).Recall));
            continue;
        }

        var mix = positives.Concat(ofType).ToList();
        Row(type, ofType.Count, "false-serve rate", t => Pct(ThresholdCalibration.Evaluate(ofType, false, t).FalseServeRate), t => Pct(ThresholdCalibration.Evaluate(ofType, true, t).FalseServeRate));
        Row(type, ofType.Count, "precision vs positives", t => F(ThresholdCalibration.Evaluate(mix, false, t).Precision), t => F(ThresholdCalibration.Evaluate(mix, true, t).Precision));
    }

    Console.WriteLine();

    void Row(string type, int n, string metric, Func<float, string> noGuards, Func<float, string> withGuards)
    {
        var sb = new StringBuilder($"| {type} | {n} | {metric} |");
        foreach (var t in ts)
        {
            sb.Append(CultureInfo.InvariantCulture, $" {noGuards(t)} \\| {withGuards(t)} |");
        }

        Console.WriteLine(sb);
    }
}

void PrintErrors()
{
    Console.WriteLine($"## Errors at the default threshold (first {showErrors} of each kind)");
    foreach (var s in scored.Where(s => !s.Pair.ShouldServe && s.Pair.Similarity >= defaultThreshold && s.Pair.GuardsAccept).Take(showErrors))
    {
        Console.WriteLine($"FALSE HIT {s.Row.Id} {s.Row.PairType} cos={s.Pair.Similarity:F3}\n  Q: {Clip(s.Row.Query)}\n  C: {Clip(s.Row.Candidate)}");
    }

    foreach (var s in scored.Where(s => s.Pair.ShouldServe && s.Pair.Similarity >= defaultThreshold && !s.Pair.GuardsAccept).Take(showErrors))
    {
        Console.WriteLine($"GUARD-LOST {s.Row.Id} cos={s.Pair.Similarity:F3} {s.Verdict.Rejections}: {s.Verdict.Evidence}\n  Q: {Clip(s.Row.Query)}\n  C: {Clip(s.Row.Candidate)}");
    }

    foreach (var s in scored.Where(s => s.Pair.ShouldServe && s.Pair.Similarity < defaultThreshold).OrderByDescending(s => s.Pair.Similarity).Take(showErrors))
    {
        Console.WriteLine($"BELOW {s.Row.Id} cos={s.Pair.Similarity:F3} guards={s.Verdict.Rejections}\n  Q: {Clip(s.Row.Query)}\n  C: {Clip(s.Row.Candidate)}");
    }

    static string Clip(string s) => (s.Length > 220 ? s[..220] + "…" : s).ReplaceLineEndings(" ⏎ ");
}

static int Fold(string id) => SHA256.HashData(Encoding.UTF8.GetBytes(id))[0] & 1;

static string F(double v) => double.IsFinite(v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "n/a";

static string Pct(double v) => double.IsFinite(v) ? (v * 100).ToString("F1", CultureInfo.InvariantCulture) + "%" : "n/a";

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

// Embeds every distinct text once; vectors are cached on disk keyed by the texts' hash so re-runs take seconds.
static async Task<Dictionary<string, float[]>> EmbedAllAsync(List<PairRow> rows, int threads)
{
    var texts = rows.SelectMany(r => new[] { r.Query, r.Candidate }).Distinct(StringComparer.Ordinal).OrderBy(t => t.Length).ToArray();
    var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\u0001", texts))))[..16];
    var cacheDir = Path.Combine(AppContext.BaseDirectory, "embedding-cache");
    var cacheFile = Path.Combine(cacheDir, $"minilm-{hash}.bin");
    var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
    if (File.Exists(cacheFile))
    {
        using var reader = new BinaryReader(File.OpenRead(cacheFile));
        foreach (var t in texts)
        {
            var v = new float[MiniLmEmbeddingGenerator.Dimensions];
            for (var k = 0; k < v.Length; k++)
            {
                v[k] = reader.ReadSingle();
            }

            result[t] = v;
        }

        Console.WriteLine($"embeddings: {texts.Length} texts from cache {cacheFile}");
        return result;
    }

    var sw = Stopwatch.StartNew();
    using var generator = new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { IntraOpThreads = Math.Max(1, threads) });
    var embeddings = await generator.GenerateAsync(texts);
    Directory.CreateDirectory(cacheDir);
    using var writer = new BinaryWriter(File.Create(cacheFile));
    for (var k = 0; k < texts.Length; k++)
    {
        var v = embeddings[k].Vector.ToArray();
        result[texts[k]] = v;
        foreach (var x in v)
        {
            writer.Write(x);
        }
    }

    Console.WriteLine($"embeddings: {texts.Length} texts with MiniLM in {sw.Elapsed.TotalSeconds:F1} s ({threads} threads)");
    return result;
}
