namespace Router.Core.Analysis;

/// <summary>One chat message as the analyzer sees it: the role, its text parts joined, and whether it carried an image.</summary>
/// <param name="Role">OpenAI role name: <c>system</c>, <c>developer</c>, <c>user</c>, <c>assistant</c> or <c>tool</c>.</param>
/// <param name="Text">The message's text parts joined with newlines; null or empty when it had none.</param>
/// <param name="HasImage">True when the message's content array held an image part.</param>
public sealed record AnalysisMessage(string Role, string? Text, bool HasImage = false);

/// <summary>The parts of a chat request that request analysis reads.</summary>
/// <param name="Messages">The conversation in order; the last user message is the one being routed.</param>
/// <param name="HasTools">True when the request declared tools or functions.</param>
/// <param name="ResponseFormatType">The request's <c>response_format.type</c> (<c>json_object</c>, <c>json_schema</c>, <c>text</c>), if any.</param>
/// <param name="MaxTokens">The request's <c>max_tokens</c> / <c>max_completion_tokens</c>, if any.</param>
public sealed record AnalysisRequest(
    IReadOnlyList<AnalysisMessage> Messages,
    bool HasTools = false,
    string? ResponseFormatType = null,
    int? MaxTokens = null)
{
    /// <summary>A single-user-message request, the common case in tests and tools.</summary>
    public static AnalysisRequest FromPrompt(string prompt) => new([new AnalysisMessage("user", prompt)]);
}
