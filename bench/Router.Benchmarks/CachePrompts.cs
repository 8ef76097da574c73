namespace Router.Benchmarks;

internal static class CachePrompts
{
    public const string Short = "How do I enable streaming with `load_dataset()` in Hugging Face Datasets 2.14?";

    public const string ShortParaphrase = "How can I turn on streaming in `load_dataset()` with Hugging Face Datasets 2.14?";

    public const string Medium =
        "Summarise the main differences between TCP and UDP for a junior developer, with one example of an application " +
        "that should use each protocol and why, in under 150 words.";

    public static readonly string Long = string.Join(
        "\n",
        "This question refers to the following information.",
        string.Concat(Enumerable.Repeat(
            "In a mixture of hydrogen, oxygen, and nitrogen gases at a given temperature, the molecules do not all move at " +
            "the same speed; John Dalton and later Maxwell described 3 regimes and the Boltzmann distribution. ", 6)),
        "Which of the following is true of the fastest molecules on average?",
        "A. hydrogen",
        "B. oxygen",
        "C. nitrogen",
        "D. All have same average speed",
        "Answer:");
}
