using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Router.Core.Analysis;

/// <summary>
/// The hybrid analyzer: structural scan, risk rules, o200k token count, language, then the task model over the sentence
/// embedding (when there is one) and keyword features, and the complexity estimator over the same text and embedding.
/// Every failure inside degrades to a default rather than throwing.
/// </summary>
internal sealed partial class RequestAnalyzer : IRequestAnalyzer
{
    private const int InstructionHeadChars = 1500;
    private const int InstructionTailChars = 300;

    private readonly RequestAnalyzerOptions _options;
    private readonly TaskModel _model;
    private readonly ComplexityEstimator _complexity;
    private readonly PromptTokenCounter _tokens;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _embeddings;
    private readonly ILogger _logger;

    public RequestAnalyzer(
        IOptions<RequestAnalyzerOptions> options,
        TaskModel model,
        ComplexityEstimator complexity,
        IEmbeddingGenerator<string, Embedding<float>>? embeddings = null,
        ILogger<RequestAnalyzer>? logger = null)
    {
        _options = options.Value;
        _model = model;
        _complexity = complexity;
        _tokens = new PromptTokenCounter(_options.ExactTokenCountMaxChars);
        _embeddings = embeddings;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Runs a few varied prompts through the keyword path so the pattern automata and the tokenizer are built before the
    /// first real request (a cold first analysis takes a second or more; a warm one tens of microseconds).
    /// </summary>
    public void WarmUp()
    {
        string[] samples =
        [
            "Hi! Can you translate 'good morning' into Spanish? Thanks 🙂",
            "Summarize this email in 3 bullet points and extract every date as JSON:\n\n'Dear team, the launch moves to 2024-06-10. Call 555-0142 or mail a.b@example.com.'",
            "My python script fails with Traceback (most recent call last): ZeroDivisionError. ```python\nprint(1/0)\n```",
            "I've had chest pain for an hour and I'm on warfarin 5 mg. Should I sell my 401k shares? My landlord filed an eviction.",
            "Prove that √2 is irrational and compute ∫ x² dx; then write a haiku, roleplay as a pirate, and classify these reviews.",
            "富士山の高さは何メートルですか？ 为什么月亮总是同一面朝向地球？ Привет! नमस्ते",
        ];
        foreach (var sample in samples)
        {
            _ = Analyze(AnalysisRequest.FromPrompt(sample));
        }
    }

    public async ValueTask<RequestProfile> AnalyzeAsync(AnalysisRequest request, CancellationToken cancellationToken = default)
    {
        ConversationContext context;
        try
        {
            context = ConversationContext.Create(request, _options);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AnalysisFailed(_logger, ex);
            return Fallback(request);
        }

        ReadOnlyMemory<float> embedding = default;
        if (_embeddings is not null && _options.UseEmbedding)
        {
            var text = EmbeddingText(context);
            if (text.Length > 0)
            {
                try
                {
                    var generated = await _embeddings.GenerateAsync([text], cancellationToken: cancellationToken).ConfigureAwait(false);
                    embedding = generated.Count > 0 ? generated[0].Vector : default;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    // A broken embedding model costs accuracy, not availability.
                    Log.EmbeddingFailed(_logger, ex);
                }
            }
        }

        return Analyze(request, context, embedding);
    }

    public RequestProfile Analyze(AnalysisRequest request, ReadOnlyMemory<float> embedding = default)
    {
        try
        {
            return Analyze(request, ConversationContext.Create(request, _options), embedding);
        }
        catch (Exception ex)
        {
            Log.AnalysisFailed(_logger, ex);
            return Fallback(request);
        }
    }

    public string GetEmbeddingText(AnalysisRequest request)
    {
        try
        {
            return EmbeddingText(ConversationContext.Create(request, _options));
        }
        catch (Exception ex)
        {
            Log.AnalysisFailed(_logger, ex);
            return "";
        }
    }

    /// <summary>The task model's inputs for a request, exactly as <see cref="Analyze(AnalysisRequest, ReadOnlyMemory{float})"/> computes them; used by the trainer.</summary>
    internal static (string EmbeddingText, float[] Features, int[] Buckets) TaskInputs(AnalysisRequest request, RequestAnalyzerOptions options)
    {
        var context = ConversationContext.Create(request, options);
        var taskText = context.TaskText;
        var signals = StructuralScanner.Scan(TextWindow.ScanWindow(taskText, options.ScanHeadChars, options.ScanTailChars), taskText.Length);
        var (_, script) = LanguageDetector.Detect(context.LastUserText.Length > 0 ? context.LastUserText : taskText);
        var features = new float[TaskFeatures.Count];
        var instruction = TextWindow.HeadAndTail(taskText, InstructionHeadChars, InstructionTailChars);
        TaskFeatures.Compute(instruction, signals, script, features);
        var buckets = new int[LexicalFeatures.MaxBuckets];
        var count = LexicalFeatures.Compute(instruction, buckets);
        var embeddingText = string.IsNullOrWhiteSpace(taskText)
            ? ""
            : TextWindow.HeadAndTail(taskText.Trim(), options.EmbeddingHeadChars, options.EmbeddingTailChars);
        return (embeddingText, features, buckets[..count]);
    }

    /// <summary>The texts the complexity estimator sees for a request (the scanned task turn) and that are embedded; used by the trainer.</summary>
    internal static (string ComplexityText, string EmbeddingText) ComplexityInputs(AnalysisRequest request, RequestAnalyzerOptions options)
    {
        var context = ConversationContext.Create(request, options);
        var taskText = context.TaskText;
        var embeddingText = string.IsNullOrWhiteSpace(taskText)
            ? ""
            : TextWindow.HeadAndTail(taskText.Trim(), options.EmbeddingHeadChars, options.EmbeddingTailChars);
        return (TextWindow.ScanWindow(taskText, options.ScanHeadChars, options.ScanTailChars), embeddingText);
    }

    public (string Analysis, string Cache) GetEmbeddingTexts(AnalysisRequest request)
    {
        try
        {
            var context = ConversationContext.Create(request, _options);
            var last = context.LastUserText;
            return (EmbeddingText(context),
                string.IsNullOrWhiteSpace(last) ? "" : TextWindow.HeadAndTail(last.Trim(), _options.EmbeddingHeadChars, _options.EmbeddingTailChars));
        }
        catch (Exception ex)
        {
            Log.AnalysisFailed(_logger, ex);
            return ("", "");
        }
    }

    private string EmbeddingText(ConversationContext context) =>
        string.IsNullOrWhiteSpace(context.TaskText)
            ? ""
            : TextWindow.HeadAndTail(context.TaskText.Trim(), _options.EmbeddingHeadChars, _options.EmbeddingTailChars);

    private RequestProfile Analyze(AnalysisRequest request, ConversationContext context, ReadOnlyMemory<float> embedding)
    {
        try
        {
            return Build(request, context, embedding.Span);
        }
        catch (Exception ex)
        {
            Log.AnalysisFailed(_logger, ex);
            return Fallback(request);
        }
    }

    private RequestProfile Build(AnalysisRequest request, ConversationContext context, ReadOnlySpan<float> embedding)
    {
        var taskText = context.TaskText;
        var scanned = TextWindow.ScanWindow(taskText, _options.ScanHeadChars, _options.ScanTailChars);
        var signals = StructuralScanner.Scan(scanned, taskText.Length);
        var (language, script) = LanguageDetector.Detect(context.LastUserText.Length > 0 ? context.LastUserText : taskText);
        var risk = RiskAssessor.Assess(context.RiskText);
        var promptTokens = _tokens.Count(request, taskText, out var taskTextTokens);
        var instruction = TextWindow.HeadAndTail(taskText, InstructionHeadChars, InstructionTailChars);

        TaskPrediction task;
        var usedEmbedding = false;
        if (string.IsNullOrWhiteSpace(taskText))
        {
            task = new TaskPrediction(TaskType.Chat, 0, TaskType.Chat, 0, TaskSource.Empty);
        }
        else
        {
            (task, usedEmbedding) = Predict(instruction, signals, script, embedding);
            if (context.FollowUpText is { } followUp)
            {
                task = ResolveFollowUp(task, followUp);
            }
        }

        var lastInstruction = context.IsFollowUp
            ? context.FollowUpText!
            : instruction;
        var format = StructuralScanner.RequestedFormat(
            context.IsFollowUp ? string.Concat(instruction, "\n", lastInstruction) : instruction,
            request.ResponseFormatType);
        var taskTokens = taskText.Length > 4096 ? (int)(taskText.Length / 3.8)
            : taskTextTokens >= 0 ? taskTextTokens
            : _tokens.CountText(taskText);
        var expected = OutputLengthEstimator.Estimate(task.Type, lastInstruction, signals, taskTokens, request.MaxTokens);
        // Without an embedding the estimate is cheap to make again, so its per-signal explanation (only /v1/route reads
        // it) is left to the first read instead of being built for every routed request.
        var deferExplanation = embedding.IsEmpty;
        var complexity = _complexity.Estimate(scanned, embedding, explain: !deferExplanation);

        return new RequestProfile
        {
            Task = task,
            Risk = risk,
            PromptTokens = promptTokens,
            Turns = context.UserTurns,
            Language = language,
            Script = script,
            HasCode = signals.HasCode,
            HasTools = request.HasTools,
            HasImages = context.HasImages,
            RequestedFormat = format,
            ExpectedOutputTokens = expected,
            IsFollowUp = context.IsFollowUp,
            UsedEmbedding = usedEmbedding,
            Signals = signals,
            Complexity = complexity.Level,
            ComplexityScore = complexity.Scale,
            ComplexitySignals = deferExplanation ? new ComplexitySignalMap(complexity, _complexity, scanned) : new ComplexitySignalMap(complexity),
        };
    }

    /// <summary>The task probabilities (model and rules) of a single-turn request, as <see cref="Analyze(AnalysisRequest, ReadOnlyMemory{float})"/> ranks them; used by the trainer to calibrate on held-out rows.</summary>
    internal float[] TaskProbabilities(AnalysisRequest request, ReadOnlySpan<float> embedding)
    {
        var context = ConversationContext.Create(request, _options);
        var taskText = context.TaskText;
        var signals = StructuralScanner.Scan(TextWindow.ScanWindow(taskText, _options.ScanHeadChars, _options.ScanTailChars), taskText.Length);
        var (_, script) = LanguageDetector.Detect(context.LastUserText.Length > 0 ? context.LastUserText : taskText);
        var probabilities = new float[_model.Classes.Length];
        TaskProbabilities(TextWindow.HeadAndTail(taskText, InstructionHeadChars, InstructionTailChars), signals, script, embedding, probabilities);
        return probabilities;
    }

    private bool TaskProbabilities(string instruction, StructuralSignals signals, string script, ReadOnlySpan<float> embedding, Span<float> probabilities)
    {
        Span<float> features = stackalloc float[TaskFeatures.Count];
        TaskFeatures.Compute(instruction, signals, script, features);
        Span<int> buckets = stackalloc int[LexicalFeatures.MaxBuckets];
        var bucketCount = LexicalFeatures.Compute(instruction, buckets);
        var used = _model.Predict(embedding, features, buckets[..bucketCount], probabilities);
        TaskRules.Apply(instruction, signals, _model.Classes, probabilities);
        return used;
    }

    private (TaskPrediction Task, bool UsedEmbedding) Predict(string instruction, StructuralSignals signals, string script, ReadOnlySpan<float> embedding)
    {
        Span<float> probabilities = stackalloc float[_model.Classes.Length];
        var used = TaskProbabilities(instruction, signals, script, embedding, probabilities);
        var (best, second) = TopTwo(probabilities);
        var prediction = new TaskPrediction(
            _model.Classes[best],
            probabilities[best],
            _model.Classes[second],
            probabilities[second],
            used ? TaskSource.Embedding : TaskSource.Keywords);
        return (prediction, used);
    }

    private TaskPrediction ResolveFollowUp(TaskPrediction inherited, string followUp)
    {
        if (ConversationContext.FollowUpNamesOwnTask(followUp))
        {
            var signals = StructuralScanner.Scan(followUp, followUp.Length);
            var (own, _) = Predict(followUp, signals, "Latin", default);
            if (own.Type is TaskType.Translation or TaskType.Summarization or TaskType.Extraction or TaskType.Classification)
            {
                return own;
            }
        }

        return inherited with { Source = TaskSource.Inherited };
    }

    private static (int Best, int Second) TopTwo(ReadOnlySpan<float> probabilities)
    {
        var best = 0;
        var second = probabilities.Length > 1 ? 1 : 0;
        if (probabilities.Length > 1 && probabilities[1] > probabilities[0])
        {
            (best, second) = (1, 0);
        }

        for (var i = 2; i < probabilities.Length; i++)
        {
            if (probabilities[i] > probabilities[best])
            {
                second = best;
                best = i;
            }
            else if (probabilities[i] > probabilities[second])
            {
                second = i;
            }
        }

        return (best, second);
    }

    private static RequestProfile Fallback(AnalysisRequest? request) => new()
    {
        Task = new TaskPrediction(TaskType.Chat, 0, TaskType.Chat, 0, TaskSource.Empty),
        Risk = RiskAssessment.None,
        Turns = request?.Messages?.Count(m => m?.Role is "user") ?? 0,
        HasTools = request?.HasTools ?? false,
        HasImages = request?.Messages?.Any(m => m?.HasImage == true) ?? false,
        Signals = new StructuralSignals(),
        ExpectedOutputTokens = 256,
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Embedding failed; task analysed with keywords only")]
        public static partial void EmbeddingFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "Request analysis failed; a default profile was used")]
        public static partial void AnalysisFailed(ILogger logger, Exception exception);
    }
}
