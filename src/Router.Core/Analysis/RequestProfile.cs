namespace Router.Core.Analysis;

/// <summary>Where a task prediction came from.</summary>
public enum TaskSource
{
    /// <summary>The learned model over the sentence embedding plus keyword and structural features.</summary>
    Embedding,
    /// <summary>The keyword and structural model only (no embedding was available or wanted).</summary>
    Keywords,
    /// <summary>A short follow-up edit that kept the task of an earlier user turn.</summary>
    Inherited,
    /// <summary>No text to analyse; the task is a default.</summary>
    Empty,
}

/// <summary>An output shape the request asks for explicitly.</summary>
public enum OutputFormat
{
    /// <summary>Nothing specific.</summary>
    None,
    /// <summary>JSON, from <c>response_format</c> or the prompt.</summary>
    Json,
    /// <summary>A table.</summary>
    Table,
    /// <summary>CSV.</summary>
    Csv,
    /// <summary>A list or bullet points.</summary>
    List,
}

/// <summary>The predicted task type with its confidence and runner-up.</summary>
/// <param name="Type">The predicted task.</param>
/// <param name="Confidence">Model probability of <paramref name="Type"/>, 0–1.</param>
/// <param name="RunnerUp">The second most likely task.</param>
/// <param name="RunnerUpConfidence">Model probability of <paramref name="RunnerUp"/>.</param>
/// <param name="Source">Which path produced the prediction.</param>
public sealed record TaskPrediction(TaskType Type, double Confidence, TaskType RunnerUp, double RunnerUpConfidence, TaskSource Source);

/// <summary>Cheap structural facts about the routed text, reusable by the complexity estimator.</summary>
public sealed record StructuralSignals
{
    /// <summary>Characters in the routed user turn (before any windowing).</summary>
    public int CharCount { get; init; }

    /// <summary>Whitespace-separated words in the routed user turn (scanned window).</summary>
    public int WordCount { get; init; }

    /// <summary>Lines in the routed user turn.</summary>
    public int LineCount { get; init; }

    /// <summary>Fenced code blocks (<c>```</c> pairs).</summary>
    public int CodeBlockCount { get; init; }

    /// <summary>Code is present: a fence, or several lines that look like source code.</summary>
    public bool HasCode { get; init; }

    /// <summary>A stack trace or compiler/runtime error output is present.</summary>
    public bool HasStackTrace { get; init; }

    /// <summary>Count of math notation hits (operators between numbers, ∫ Σ √ ≤, <c>x^2</c>, LaTeX commands).</summary>
    public int MathNotationCount { get; init; }

    /// <summary>A markdown or pipe table is present in the input.</summary>
    public bool HasTable { get; init; }

    /// <summary>A JSON object or array is present in the input.</summary>
    public bool HasJson { get; init; }

    /// <summary>Several comma- or tab-separated lines with equal field counts are present.</summary>
    public bool HasCsv { get; init; }

    /// <summary>Numbered or bulleted list items in the input.</summary>
    public int ListItemCount { get; init; }

    /// <summary>Question marks in the routed turn.</summary>
    public int QuestionCount { get; init; }

    /// <summary>Estimated separate instructions: imperative sentences, questions and constraint items.</summary>
    public int InstructionCount { get; init; }

    /// <summary>Explicit constraints seen (word limits, "must", "exactly", "no more than", format demands).</summary>
    public int ConstraintCount { get; init; }
}

/// <summary>Everything request analysis knows about a chat request; flows through routing, caching and metering.</summary>
public sealed record RequestProfile
{
    /// <summary>The predicted task type.</summary>
    public required TaskPrediction Task { get; init; }

    /// <summary>Risk level, categories and evidence.</summary>
    public required RiskAssessment Risk { get; init; }

    /// <summary>Prompt tokens counted with the o200k tokenizer, plus OpenAI's per-message overhead and a nominal cost per image.</summary>
    public int PromptTokens { get; init; }

    /// <summary>User turns in the conversation.</summary>
    public int Turns { get; init; }

    /// <summary>ISO 639-1 code of the routed turn's language, or <c>und</c>.</summary>
    public string Language { get; init; } = "und";

    /// <summary>Dominant script of the routed turn: Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Han, Japanese, Hangul, Thai, Other, or None.</summary>
    public string Script { get; init; } = "None";

    /// <summary>Code is present in the routed turn (or its inherited task turn).</summary>
    public bool HasCode { get; init; }

    /// <summary>The request declared tools.</summary>
    public bool HasTools { get; init; }

    /// <summary>Some message carried an image.</summary>
    public bool HasImages { get; init; }

    /// <summary>An output format the request asks for.</summary>
    public OutputFormat RequestedFormat { get; init; }

    /// <summary>Expected completion length in tokens (capped by <c>max_tokens</c> when given).</summary>
    public int ExpectedOutputTokens { get; init; }

    /// <summary>The routed turn is a short follow-up analysed in the context of an earlier turn.</summary>
    public bool IsFollowUp { get; init; }

    /// <summary>The sentence embedding took part in the task prediction.</summary>
    public bool UsedEmbedding { get; init; }

    /// <summary>Structural signals of the text the task was predicted from.</summary>
    public required StructuralSignals Signals { get; init; }

    /// <summary>Complexity 1–10 (<see cref="ComplexityScore"/> rounded), what <c>x-router-complexity</c> reports; null only when analysis failed.</summary>
    public int? Complexity { get; init; }

    /// <summary>
    /// Complexity on the same 1–10 scale before rounding, so routing moves smoothly: 1 + 9 × the share of reference
    /// traffic that needs the premium model less (<see cref="ComplexityEstimator"/>); null only when analysis failed.
    /// </summary>
    public double? ComplexityScore { get; init; }

    /// <summary>
    /// The complexity estimator's named signals: <c>premium_gain</c>, <c>economy_failure</c>, <c>premium_failure</c>
    /// (0–1), <c>embedding</c> (1 when the embedding was used), and each signal's contribution to the gain (for example
    /// <c>length</c>, <c>steps</c>, <c>topic</c>). Null only when analysis failed.
    /// </summary>
    public IReadOnlyDictionary<string, double>? ComplexitySignals { get; init; }
}
