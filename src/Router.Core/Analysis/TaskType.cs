namespace Router.Core.Analysis;

/// <summary>The kind of work a request asks for; the wire names are listed in the public contract.</summary>
public enum TaskType
{
    /// <summary>Writing, fixing, explaining or reviewing code.</summary>
    Coding,
    /// <summary>Calculation, proofs, quantitative problems.</summary>
    Math,
    /// <summary>Logic puzzles, comparisons, analysis and trade-off decisions.</summary>
    Reasoning,
    /// <summary>Fiction, poetry, lyrics, scripts and other imaginative text.</summary>
    CreativeWriting,
    /// <summary>Functional writing and editing: emails, essays, posts, rewrites, proofreading.</summary>
    Writing,
    /// <summary>Condensing a given text.</summary>
    Summarization,
    /// <summary>Rendering text in another language.</summary>
    Translation,
    /// <summary>Pulling fields or items out of a given text, often into JSON, tables or CSV.</summary>
    Extraction,
    /// <summary>Assigning labels or categories to given items.</summary>
    Classification,
    /// <summary>Factual questions and explanations.</summary>
    KnowledgeQa,
    /// <summary>Personal recommendations and how-to guidance for the user's situation.</summary>
    Advice,
    /// <summary>Playing a character or running an interactive scenario.</summary>
    Roleplay,
    /// <summary>Small talk, greetings, thanks.</summary>
    Chat,
}

/// <summary>Wire names of <see cref="TaskType"/> values.</summary>
public static class TaskTypeNames
{
    private static readonly string[] Names =
    [
        "coding", "math", "reasoning", "creative_writing", "writing", "summarization", "translation",
        "extraction", "classification", "knowledge_qa", "advice", "roleplay", "chat",
    ];

    /// <summary>All task types in contract order.</summary>
    public static IReadOnlyList<TaskType> All { get; } = Enum.GetValues<TaskType>();

    /// <summary>The contract's name for a task type, e.g. <c>creative_writing</c>.</summary>
    public static string ToWireName(this TaskType type) => Names[(int)type];

    /// <summary>Parses a contract name; false for unknown names.</summary>
    public static bool TryParse(string? name, out TaskType type)
    {
        var index = Array.IndexOf(Names, name);
        type = index >= 0 ? (TaskType)index : TaskType.Chat;
        return index >= 0;
    }
}
