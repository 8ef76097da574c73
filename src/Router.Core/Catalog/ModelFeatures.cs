namespace Router.Core.Catalog;

/// <summary>Request features only some models accept: a request that uses one is routed only to models that accept it
/// (a model the client names is sent the request as it is).</summary>
[Flags]
public enum ModelFeatures
{
    /// <summary>None of them, as most requests.</summary>
    None = 0,

    /// <summary><c>reasoning_effort</c>, which only reasoning models (o-series, gpt-5) accept.</summary>
    ReasoningEffort = 1,

    /// <summary><c>prediction</c> (Predicted Outputs).</summary>
    Prediction = 2,

    /// <summary><c>logprobs: true</c> or <c>top_logprobs</c>.</summary>
    Logprobs = 4,

    /// <summary><c>temperature</c>, <c>top_p</c>, <c>presence_penalty</c> or <c>frequency_penalty</c> at another value than
    /// its default (1, 1, 0, 0), which reasoning models refuse; they accept the default.</summary>
    SamplingParameters = 8,
}
