using System.Text.RegularExpressions;

namespace Router.Core.Analysis;

/// <summary>
/// Which text a request's task is judged from. Usually the last user turn; a short edit instruction after an earlier user
/// turn ("now make it shorter") is judged from that earlier turn, and a non-assistant persona in the system prompt is
/// kept in front of the user's turn.
/// </summary>
internal sealed partial record ConversationContext(
    string TaskText,
    string LastUserText,
    string? FollowUpText,
    string RiskText,
    int UserTurns,
    bool HasImages,
    string? SystemText)
{
    private const RegexOptions Options = RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

    public bool IsFollowUp => FollowUpText is not null;

    public static ConversationContext Create(AnalysisRequest request, RequestAnalyzerOptions options)
    {
        var messages = request.Messages ?? [];
        var userTexts = new List<string>(4);
        var riskParts = new List<string>(4);
        var hasImages = false;
        string? system = null;
        foreach (var message in messages)
        {
            if (message is null)
            {
                continue;
            }

            hasImages |= message.HasImage;
            var text = string.IsNullOrEmpty(message.Text) ? "" : TextWindow.Sanitize(message.Text);
            var role = message.Role ?? "user";
            if (role.Equals("user", StringComparison.OrdinalIgnoreCase))
            {
                userTexts.Add(text);
            }
            else if (system is null && (role.Equals("system", StringComparison.OrdinalIgnoreCase) || role.Equals("developer", StringComparison.OrdinalIgnoreCase)))
            {
                system = text;
            }

            if (!role.Equals("assistant", StringComparison.OrdinalIgnoreCase) && text.Length > 0)
            {
                riskParts.Add(TextWindow.ScanWindow(text, options.ScanHeadChars, options.ScanTailChars));
            }
        }

        var last = userTexts.Count > 0 ? userTexts[^1] : "";
        var riskText = riskParts.Count == 1 ? riskParts[0] : string.Join("\n\n", riskParts);
        var taskText = last;
        string? followUp = null;
        if (userTexts.Count >= 2 && IsEditInstruction(last, options.FollowUpMaxWords))
        {
            for (var i = userTexts.Count - 2; i >= 0; i--)
            {
                // Skip earlier turns that were themselves bare edits ("shorter", "again") to reach the turn that set the task.
                if (userTexts[i].Length > 0 && (i == 0 || !IsEditInstruction(userTexts[i], 8)))
                {
                    taskText = userTexts[i];
                    followUp = last;
                    break;
                }
            }
        }

        if (!string.IsNullOrWhiteSpace(system) && system.Length <= 2000 && TaskFeaturesPersona(system))
        {
            taskText = string.Concat(system, "\n\n", taskText);
        }

        return new ConversationContext(taskText, last, followUp, riskText, userTexts.Count, hasImages, system);
    }

    /// <summary>A short turn that edits or continues earlier output rather than asking something new.</summary>
    public static bool IsEditInstruction(string text, int maxWords)
    {
        var trimmed = text.AsSpan().Trim();
        var fence = trimmed.IndexOf("```", StringComparison.Ordinal);
        var prose = fence >= 0 ? trimmed[..fence] : trimmed;
        if (trimmed.IsEmpty || CountWords(prose, maxWords + 1) > maxWords)
        {
            return false;
        }

        var head = prose.Length > 400 ? prose[..400].ToString() : prose.ToString();
        return EditInstruction().IsMatch(head) || Referential().IsMatch(head) || Comparative().IsMatch(head);
    }

    /// <summary>The follow-up names a task of its own that replaces the earlier one (translate it, summarise it, extract …).</summary>
    public static bool FollowUpNamesOwnTask(string followUp) => OwnTask().IsMatch(followUp);

    private static bool TaskFeaturesPersona(string system) =>
        PersonaSystem().IsMatch(system) && !AssistantSystem().IsMatch(system);

    private static int CountWords(ReadOnlySpan<char> text, int cap)
    {
        var count = 0;
        var inWord = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                inWord = false;
            }
            else if (!inWord)
            {
                inWord = true;
                if (++count >= cap)
                {
                    break;
                }
            }
        }

        return count;
    }

    private static Regex EditInstruction() => Patterns.EditInstruction;

    private static Regex Referential() => Patterns.Referential;

    private static Regex Comparative() => Patterns.Comparative;


    private static Regex OwnTask() => Patterns.OwnTask;

    private static Regex PersonaSystem() => Patterns.PersonaSystem;

    private static Regex AssistantSystem() => Patterns.AssistantSystem;

    /// <summary>The patterns, built once on first use.</summary>
    private static class Patterns
    {
        internal static readonly Regex EditInstruction = RegexFactory.Create(@"\b(make|rewrite|rephrase|reword|redo|write|do|turn|put|translate|summari[sz]e|shorten|expand|simplify|condense|change|fix|format|convert|say|replace|explain|continue|improve|edit|revise|adjust|extend|trim|cut|split|apply|try|use|give)\s+(it|this|that|them|these|those|your|the (above|same|previous|last|first|second))\b|^\s*(now|ok(ay)?|great|good|nice|thanks|perfect|also|and|but|then|hmm|no|yes)\b[,.!]?\s+\w+", Options);

        internal static readonly Regex Referential = RegexFactory.Create(@"\b(previous|earlier|above|your (answer|response|reply|solution|example|last|first|code|list|story|poem|text|draft|version)|the same|what about|how about|if we|instead|again|one more|another (one|version|example)|rework|revise|amend|reformulate|similar|the (first|second|third|last) (one|example|point|case|statement|option|paragraph|line)|this (one|process|example|code|text|answer|response|list|story|poem|email|solution|function|version|draft)|that one)\b", Options);

        internal static readonly Regex Comparative = RegexFactory.Create(@"^\W*(even |a (bit|little) |much |way )?(shorter|longer|simpler|funnier|more \w+|less \w+|in (french|spanish|german|english|italian|portuguese|japanese|chinese|hindi|korean|russian|a table|bullets?|bullet points|json|one (sentence|paragraph|line)|\d+ words)|as (a|an) \w+|with(out)? \w+|please)\b", Options);

        internal static readonly Regex OwnTask = RegexFactory.Create(@"\b(translat\w*|übersetz\w*|tradu\w*|summari[sz]\w*|tl;?dr|extract\w*|classif\w*|categori[sz]\w*)\b|翻译|翻訳", Options);

        internal static readonly Regex PersonaSystem = RegexFactory.Create(@"^\s*(you are|you'?re|act as|pretend|roleplay|role-play|play the role|stay in character|imagine you are)\b|\bstay in character\b|\bin character\b", Options);

        internal static readonly Regex AssistantSystem = RegexFactory.Create(@"^\s*you are (a |an )?(helpful|expert|senior|experienced|professional|world-class|skilled|knowledgeable|friendly|concise|large language|ai|assistant|coding|programming|data)\b", Options);
    }
}
