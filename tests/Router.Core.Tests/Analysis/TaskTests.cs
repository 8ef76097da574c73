using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

public sealed class TaskTests
{
    [Theory]
    [InlineData("translate 'good morning' to Spanish", TaskType.Translation)]
    [InlineData("Summarize this article in 3 bullet points:\n\n'The city council voted on Tuesday to extend library hours, funded by a small parking levy.'", TaskType.Summarization)]
    [InlineData("hi", TaskType.Chat)]
    [InlineData("thx!", TaskType.Chat)]
    [InlineData("write a haiku about monday mornings", TaskType.CreativeWriting)]
    [InlineData("Write a Python function that checks whether a string is a palindrome, ignoring punctuation.", TaskType.Coding)]
    [InlineData("Classify each support ticket as Billing, Technical, Account, or Other:\n1. I was charged twice\n2. The app crashes on start", TaskType.Classification)]
    [InlineData("Prove that the square root of 2 is irrational.", TaskType.Math)]
    public void Clear_requests_get_their_task_on_the_keyword_path(string prompt, TaskType expected)
    {
        var profile = AnalyzerFactory.Analyze(prompt);

        Assert.Equal(expected, profile.Task.Type);
        Assert.Equal(TaskSource.Keywords, profile.Task.Source);
        Assert.NotEqual(profile.Task.Type, profile.Task.RunnerUp);
        Assert.True(profile.Task.Confidence >= profile.Task.RunnerUpConfidence);
    }

    [Theory]
    [InlineData("How do I fix this error: TypeError: 'NoneType' object is not subscriptable", TaskType.Coding)]
    [InlineData("What's the best way to handle retries in a Python asyncio HTTP client?", TaskType.Coding)]
    [InlineData("How do I reverse a linked list in Python?", TaskType.Coding)]
    [InlineData("How can I make this SQL query faster on a table with ten million rows?", TaskType.Coding)]
    [InlineData("How do I ask my manager for a raise after only one year?", TaskType.Advice)]
    [InlineData("Should I refinance my mortgage now or wait?", TaskType.Advice)]
    public void A_how_do_i_question_about_code_is_coding_and_about_life_is_advice(string prompt, TaskType expected)
    {
        Assert.Equal(expected, AnalyzerFactory.Analyze(prompt).Task.Type);
    }

    [Theory]
    [InlineData("If you were a medieval blacksmith, how would you greet a knight who walks into your forge?", TaskType.Roleplay)]
    [InlineData("Imagine yourself as a ship's captain in a storm and tell your crew what to do.", TaskType.Roleplay)]
    [InlineData("Take on the role of a grumpy innkeeper and answer my questions in character.", TaskType.Roleplay)]
    [InlineData("What does 'merci beaucoup' mean in English?", TaskType.Translation)]
    public void Persona_framings_are_roleplay_and_a_meaning_in_a_language_is_translation(string prompt, TaskType expected)
    {
        Assert.Equal(expected, AnalyzerFactory.Analyze(prompt).Task.Type);
    }

    [Fact]
    public void A_meaning_in_a_field_rather_than_a_language_is_not_translation()
    {
        Assert.NotEqual(TaskType.Translation, AnalyzerFactory.Analyze("What does 'offside' mean in football?").Task.Type);
    }

    [Fact]
    public void A_short_edit_instruction_inherits_the_task_of_the_earlier_turn()
    {
        var request = AnalyzerFactory.Conversation(
            "Write a poem about the sea at night, four stanzas, with rhymes.",
            "The tide rolls in beneath the moon…",
            "now make it shorter");

        var profile = AnalyzerFactory.Create().Analyze(request);

        Assert.True(profile.IsFollowUp);
        Assert.Equal(TaskType.CreativeWriting, profile.Task.Type);
        Assert.Equal(TaskSource.Inherited, profile.Task.Source);
        Assert.Equal(2, profile.Turns);
    }

    [Fact]
    public void A_follow_up_that_names_its_own_task_takes_that_task()
    {
        var request = AnalyzerFactory.Conversation(
            "Write a poem about the sea at night, four stanzas, with rhymes.",
            "The tide rolls in beneath the moon…",
            "now translate it into French");

        var profile = AnalyzerFactory.Create().Analyze(request);

        Assert.Equal(TaskType.Translation, profile.Task.Type);
    }

    [Fact]
    public void A_new_long_question_after_a_conversation_is_not_a_follow_up()
    {
        var request = AnalyzerFactory.Conversation(
            "Write a poem about the sea.",
            "The tide rolls in…",
            "Separate question: what is the capital of Australia and when did it become the capital, and why was Sydney not chosen back then given how much larger it was at the time of federation?");

        var profile = AnalyzerFactory.Create().Analyze(request);

        Assert.False(profile.IsFollowUp);
        Assert.NotEqual(TaskType.CreativeWriting, profile.Task.Type);
    }

    [Fact]
    public void The_embedding_text_of_a_follow_up_is_the_earlier_task_turn()
    {
        var request = AnalyzerFactory.Conversation("Write a limerick about a cat who hates baths.", "There once was a cat…", "again but funnier");

        var text = AnalyzerFactory.Create().GetEmbeddingText(request);

        Assert.Contains("limerick", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("write me a bash script that renames every .txt file in a folder to .md")]
    [InlineData("regex for 24-hour times like 23:59 or 07:05")]
    [InlineData("用Python写一个函数，计算列表的平均值")]
    public void An_instruction_to_write_code_is_coding(string prompt)
    {
        Assert.Equal(TaskType.Coding, AnalyzerFactory.Analyze(prompt).Task.Type);
    }

    [Fact]
    public void A_script_for_a_comedy_sketch_is_creative_writing_not_code()
    {
        Assert.Equal(TaskType.CreativeWriting, AnalyzerFactory.Analyze("write me a script for a short comedy sketch about two pigeons arguing over a sandwich").Task.Type);
    }

    [Theory]
    [InlineData("Translate this jargon into plain English: 'We leverage cross-functional synergies to operationalise our value chain.'", TaskType.Writing)]
    [InlineData("Translate this into English: 'Je voudrais un café et deux croissants, s'il vous plaît.'", TaskType.Translation)]
    public void Translating_into_plain_english_is_rewriting_and_into_a_language_is_translation(string prompt, TaskType expected)
    {
        Assert.Equal(expected, AnalyzerFactory.Analyze(prompt).Task.Type);
    }

    [Theory]
    [InlineData("Summarize this email thread, actually just list every date mentioned: 'We met on 3 May, the draft is due 12 June and the launch is on 1 July.'", TaskType.Extraction)]
    [InlineData("Summarize this email thread in two sentences: 'We met on 3 May, the draft is due 12 June and the launch is on 1 July.'", TaskType.Summarization)]
    public void A_summary_request_that_asks_for_a_list_of_fields_is_extraction(string prompt, TaskType expected)
    {
        Assert.Equal(expected, AnalyzerFactory.Analyze(prompt).Task.Type);
    }

    [Theory]
    [InlineData("Turn these notes into a CSV with columns name, phone, city: 'Ana 555-1234 Lisbon; Ben 555-9876 Porto; Chloe 555-4444 Faro'")]
    [InlineData("Identify the people and the cities mentioned in the following text: 'Maria flew from Lima to Quito to meet Jorge, then drove on to Cuenca.'")]
    public void Putting_a_text_into_a_table_or_naming_what_is_in_it_is_extraction(string prompt)
    {
        Assert.Equal(TaskType.Extraction, AnalyzerFactory.Analyze(prompt).Task.Type);
    }

    [Theory]
    [InlineData("Turn this paragraph into a friendly tweet announcing our new opening hours: 'From Monday the shop opens at 8am and closes at 8pm.'")]
    [InlineData("Identify the main causes of the First World War.")]
    public void Rewriting_a_text_or_naming_causes_is_not_extraction(string prompt)
    {
        Assert.NotEqual(TaskType.Extraction, AnalyzerFactory.Analyze(prompt).Task.Type);
    }

    [Theory]
    [InlineData("What are the most effective ways to deal with procrastination?", TaskType.Advice)]
    [InlineData("What are the main causes of inflation?", TaskType.KnowledgeQa)]
    public void Asking_for_ways_to_act_is_advice_and_asking_what_something_is_is_a_question(string prompt, TaskType expected)
    {
        Assert.Equal(expected, AnalyzerFactory.Analyze(prompt).Task.Type);
    }

    [Theory]
    [InlineData("How many golf balls fit in a school bus? Explain your reasoning.", TaskType.Reasoning)]
    [InlineData("How many apples are left if I have 12 and eat 5?", TaskType.Math)]
    public void A_fermi_estimate_with_its_reasoning_is_reasoning_and_a_sum_is_math(string prompt, TaskType expected)
    {
        Assert.Equal(expected, AnalyzerFactory.Analyze(prompt).Task.Type);
    }

    [Theory]
    [InlineData("Which of these does not belong with the others: apple, banana, carrot, cherry?", TaskType.Reasoning)]
    [InlineData("P is the mother of Q. Q is the sister of R. What is the relationship between P and R?", TaskType.Reasoning)]
    [InlineData("Why might someone choose a paper map over a phone app when hiking?", TaskType.Reasoning)]
    [InlineData("What is the relationship between inflation and interest rates?", TaskType.KnowledgeQa)]
    [InlineData("Why do leaves change colour in autumn?", TaskType.KnowledgeQa)]
    public void Logic_puzzles_and_speculating_about_motives_are_reasoning_and_factual_whys_are_questions(string prompt, TaskType expected)
    {
        Assert.Equal(expected, AnalyzerFactory.Analyze(prompt).Task.Type);
    }
}
