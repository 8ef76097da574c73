using Router.Core.Caching;

namespace Router.Core.Tests.Caching;

public sealed class SemanticGuardTests
{
    private readonly ISemanticGuard _guard = new SemanticGuard(new SemanticGuardOptions());

    [Theory]
    [InlineData("How do I reset my password?", "How can I reset my password?")]
    [InlineData("What's the capital of France?", "What is the capital of France?")]
    [InlineData("Explain how TCP handshakes work", "Can you explain how TCP handshakes work?")]
    [InlineData("Convert 2 miles to kilometres", "convert two miles to kilometres")]
    [InlineData("Why isn't my Docker container starting?", "Why does my Docker container not start?")]
    [InlineData("How do I install the Hugging Face hub client?", "How do I install the HuggingFace hub client?")]
    [InlineData("How do I call `load_dataset()` with streaming?", "How can I call load_dataset with streaming?")]
    [InlineData("Show me pandas dataframe examples", "Show me dataframe pandas examples")]
    [InlineData("What are some good books on machine learning?", "What are good books about machine learning?")]
    public void Paraphrase_is_accepted(string request, string candidate)
    {
        var verdict = _guard.Check(request, candidate);

        Assert.True(verdict.Accepted, $"rejected: {verdict.Rejections} ({verdict.Evidence})");
    }

    [Theory]
    [InlineData("Convert 5 miles to kilometres", "Convert 6 miles to kilometres")]
    [InlineData("What was the GDP of Japan in 2019?", "What was the GDP of Japan in 2020?")]
    [InlineData("Give me three tips for sleeping better", "Give me five tips for sleeping better")]
    [InlineData("Is 3.10 newer than 3.9?", "Is 3.1 newer than 3.9?")]
    [InlineData("Compute 17 minus 4 and explain the steps.", "Compute 4 minus 17 and explain the steps.")]
    [InlineData("Convert 3 miles to km, then 8 km to miles.", "Convert 8 miles to km, then 3 km to miles.")]
    [InlineData("Is 12 divisible by 3?", "Is 3 divisible by 12?")]
    [InlineData("Add 2 and 2 and 5.", "Add 2 and 5 and 5.")]
    public void Different_number_is_rejected(string request, string candidate)
    {
        var verdict = _guard.Check(request, candidate);

        Assert.True(verdict.Rejections.HasFlag(GuardRejections.Number));
        Assert.False(string.IsNullOrEmpty(verdict.Evidence));
    }

    [Theory]
    [InlineData("Is it safe to eat raw eggs?", "Is it not safe to eat raw eggs?")]
    [InlineData("Which foods can dogs eat?", "Which foods can't dogs eat?")]
    [InlineData("How do I deploy with Docker?", "How do I deploy without Docker?")]
    public void Negation_is_rejected(string request, string candidate)
    {
        var verdict = _guard.Check(request, candidate);

        Assert.True(verdict.Rejections.HasFlag(GuardRejections.Negation), verdict.Rejections.ToString());
    }

    [Fact]
    public void Opening_no_answers_rather_than_negates()
    {
        var verdict = _guard.Check("No, the page does not exist.", "The page does not exist.");

        Assert.False(verdict.Rejections.HasFlag(GuardRejections.Negation));
    }

    [Theory]
    [InlineData("What is the capital of France?", "What is the capital of Spain?")]
    [InlineData("How do I sort a list in Python?", "How do I sort a list in Rust?")]
    [InlineData("Summarise the history of NATO", "Summarise the history of the EU")]
    public void Different_entity_is_rejected(string request, string candidate)
    {
        var verdict = _guard.Check(request, candidate);

        Assert.True(verdict.Rejections.HasFlag(GuardRejections.Entity), verdict.Rejections.ToString());
    }

    [Theory]
    [InlineData("What does `load_dataset` return?", "What does `load_from_disk` return?")]
    [InlineData("How do I use os.path.join?", "How do I use os.path.split?")]
    [InlineData("What does getElementById do?", "What does getElementsByClassName do?")]
    public void Different_code_identifier_is_rejected(string request, string candidate)
    {
        var verdict = _guard.Check(request, candidate);

        Assert.True(verdict.Rejections.HasFlag(GuardRejections.CodeIdentifier), verdict.Rejections.ToString());
    }

    [Fact]
    public void Reordered_answer_choices_are_rejected()
    {
        const string request = "Which gas is lightest?\nA. hydrogen\nB. oxygen\nC. nitrogen\nAnswer:";
        const string candidate = "Which gas is lightest?\nA. oxygen\nB. hydrogen\nC. nitrogen\nAnswer:";

        var verdict = _guard.Check(request, candidate);

        Assert.True(verdict.Rejections.HasFlag(GuardRejections.Choices));
    }

    [Theory]
    [InlineData("Which of the following is a functional region in human geography?", "Which of the following is a formal region in human geography?")]
    [InlineData("What is the best laptop for gaming?", "What is the best laptop for programming?")]
    [InlineData("how do i make pancakes", "how do i make waffles")]
    public void Swapped_word_in_otherwise_same_text_is_rejected(string request, string candidate)
    {
        var verdict = _guard.Check(request, candidate);

        Assert.True(verdict.Rejections.HasFlag(GuardRejections.NearDuplicate), verdict.Rejections.ToString());
    }

    [Fact]
    public void Shared_frame_with_a_different_payload_is_rejected()
    {
        const string frame = "For which of these two scenarios does the main character do something clearly morally wrong, " +
            "according to ordinary moral standards in the US as of 2020? Scenario 1 | {0} Scenario 2 | I fed my fish five times a week.";

        var verdict = _guard.Check(
            string.Format(System.Globalization.CultureInfo.InvariantCulture, frame, "I took a toy from the store."),
            string.Format(System.Globalization.CultureInfo.InvariantCulture, frame, "I ripped off the merchant."));

        Assert.True(verdict.Rejections.HasFlag(GuardRejections.NearDuplicate), verdict.Rejections.ToString());
    }

    [Fact]
    public void Disabled_guard_does_not_reject()
    {
        var guard = new SemanticGuard(new SemanticGuardOptions { Numbers = false, NearDuplicates = false });

        var verdict = guard.Check("Convert 5 miles to kilometres", "Convert 6 miles to kilometres");

        Assert.True(verdict.Accepted);
    }

    [Fact]
    public void Every_objecting_guard_is_reported()
    {
        var verdict = _guard.Check("Is Paris in France bigger than 2 million?", "Is Lyon in France not bigger than 3 million?");

        Assert.Equal(
            GuardRejections.Number | GuardRejections.Entity | GuardRejections.Negation,
            verdict.Rejections & (GuardRejections.Number | GuardRejections.Entity | GuardRejections.Negation));
    }

    [Theory]
    [InlineData("Translate this sentence from English to German: the train is late.", "Translate this sentence from German to English: the train is late.")]
    [InlineData("Find me a flight from Paris to Tokyo next week", "Find me a flight from Tokyo to Paris next week")]
    [InlineData("Convert 50 USD to EUR", "Convert 50 EUR to USD")]
    [InlineData("5 miles to kilometers", "5 kilometers to miles")]
    [InlineData("100 fahrenheit to celsius", "100 celsius to fahrenheit")]
    [InlineData("Is a dog smarter than a cat?", "Is a cat smarter than a dog?")]
    [InlineData("Why do cats hate dogs?", "Why do dogs hate cats?")]
    public void Two_items_that_exchange_places_are_rejected(string request, string candidate)
    {
        var verdict = _guard.Check(request, candidate);

        Assert.True(verdict.Rejections.HasFlag(GuardRejections.NearDuplicate), $"accepted: {verdict.Rejections}");
        Assert.Contains("exchange places", verdict.Evidence, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("What are the pros and cons of remote work?", "What are the cons and pros of remote work?")]
    [InlineData("Compare Python and Java for backend services", "Compare Java and Python for backend services")]
    [InlineData("Python vs Java for backend services", "Java vs Python for backend services")]
    [InlineData("In Python, how do I reverse a list?", "How do I reverse a list in Python?")]
    public void Items_joined_without_an_order_may_exchange_places(string request, string candidate)
    {
        var verdict = _guard.Check(request, candidate);

        Assert.True(verdict.Accepted, $"rejected: {verdict.Rejections} ({verdict.Evidence})");
    }

    [Fact]
    public void A_long_prompt_must_agree_beyond_what_the_embedding_sees()
    {
        // A fixed instruction head and tail around another document: the embedding sees the start and the end only.
        var head = "You are reviewing customer feedback for our support team. Read the feedback below carefully and write a summary "
            + "for the weekly report. Keep it factual, group similar points together, and do not quote customers by name. "
            + string.Concat(Enumerable.Repeat("Use plain language suitable for managers who have not read the raw feedback. ", 4));
        const string Tail = " End of feedback. Summarise it in five bullet points and finish with one sentence on the overall mood.";
        const string praise = "feedback follows. the dashboard feels quick and friendly, exports arrive promptly, agents respond kindly and "
            + "solve problems on the first call, and the mobile app looks polished.";
        const string complaints = "feedback follows. billing pages crash during checkout, invoices show wrong totals, refunds take weeks, "
            + "and managers ignore emails about duplicated charges.";
        var guard = new SemanticGuard(new SemanticGuardOptions { EmbeddedChars = 560 });

        var different = guard.Check(head + praise + Tail, head + complaints + Tail);
        var reworded = guard.Check(head + praise + Tail, head.Replace("carefully", "attentively", StringComparison.Ordinal) + praise + Tail);
        var spacing = guard.Check(head + praise + Tail, head + praise.Replace(", ", ",  ", StringComparison.Ordinal).Replace("the ", "The ", StringComparison.Ordinal) + Tail);

        Assert.True(different.Rejections.HasFlag(GuardRejections.NearDuplicate));
        Assert.Contains("longer than the embedded", different.Evidence, StringComparison.Ordinal);
        Assert.False(reworded.Accepted);
        Assert.True(spacing.Accepted, $"rejected: {spacing.Rejections} ({spacing.Evidence})");
        // A short prompt with a different word is the other guards' business, not this one's.
        Assert.True(guard.Check("How can I reset my router to factory settings?", "How do I reset my router to its factory settings?").Accepted);
    }
}
