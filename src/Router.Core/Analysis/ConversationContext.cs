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
                if (userTexts[i].Length > 0 && !IsEditInstruction(userTexts[i], options.FollowUpMaxWords))
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
        return EditInstruction().IsMatch(head) || Referential().IsMatch(head);
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

    [GeneratedRegex(@"^\s*(now|ok(ay)?|great|thanks|good|nice|cool|perfect|hmm|also|and|but|then|please|can you|could you|pls)?[,.!]?\s*(now\s+)?(make|do|rewrite|rephrase|reword|redo|shorten|lengthen|expand|elaborate|simplify|condense|trim|cut|add|remove|drop|change|replace|use|try|fix|translate|summari[sz]e|turn|put|format|convert|write|give|say|explain|continue|keep going|go on|more|less|shorter|longer|again|another|one more|same|what about|how about|and (in|for|with)|in (french|spanish|german|english|italian|portuguese|japanese|chinese|a table|bullet|json|one sentence)|as (a|an)|instead|too|without)\b|\b(it|this|that|them|the (above|previous|last|first|second)|your (answer|response|previous|last)|previous response|above)\b.{0,40}$", Options)]
    private static partial Regex EditInstruction();

    [GeneratedRegex(@"\b(previous|earlier|above|your (answer|response|reply|solution|example|last|first|code|list|story|poem|text)|the same|what about|how about|if we|instead|again|rework|revise|amend|reformulate|rephrase|the (first|second|third|last) (one|example|point|case|statement|option)|this one|that one|it|them|those|these)\b", Options)]
    private static partial Regex Referential();

    [GeneratedRegex(@"\b(translat\w*|übersetz\w*|tradu\w*|summari[sz]\w*|tl;?dr|extract\w*|classif\w*|categori[sz]\w*)\b|翻译|翻訳", Options)]
    private static partial Regex OwnTask();

    [GeneratedRegex(@"^\s*(you are|you'?re|act as|pretend|roleplay|role-play|play the role|stay in character|imagine you are)\b|\bstay in character\b|\bin character\b", Options)]
    private static partial Regex PersonaSystem();

    [GeneratedRegex(@"^\s*you are (a |an )?(helpful|expert|senior|experienced|professional|world-class|skilled|knowledgeable|friendly|concise|large language|ai|assistant|coding|programming|data)\b", Options)]
    private static partial Regex AssistantSystem();
}
