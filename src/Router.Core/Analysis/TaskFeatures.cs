using System.Text.RegularExpressions;

namespace Router.Core.Analysis;

/// <summary>
/// Keyword and structural features for the task classifier. The same code computes them for training and at run time,
/// so the model file only stores weights. Cues are multilingual where prompts commonly are (en, de, es, fr, pt, zh, ja, hi).
/// </summary>
internal static partial class TaskFeatures
{
    private const RegexOptions Options = RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;
    private const int StartChars = 160;

    private static readonly (string Name, Regex Pattern, bool AtStart)[] Cues =
    [
        ("translate", Translate(), false),
        ("translate_start", Translate(), true),
        ("how_to_say", HowToSay(), false),
        ("target_language", TargetLanguage(), false),
        ("summarize", Summarize(), false),
        ("summarize_start", Summarize(), true),
        ("classify", Classify(), false),
        ("classify_start", Classify(), true),
        ("label_set", LabelSet(), false),
        ("extract", Extract(), false),
        ("extract_start", Extract(), true),
        ("structured_output", StructuredOutput(), false),
        ("creative_noun", CreativeNoun(), false),
        ("creative_start", CreativeStart(), true),
        ("writing_noun", WritingNoun(), false),
        ("edit_verb", EditVerb(), false),
        ("edit_start", EditVerb(), true),
        ("roleplay", Roleplay(), false),
        ("persona_start", PersonaStart(), true),
        ("interactive", Interactive(), false),
        ("assistant_persona", AssistantPersona(), true),
        ("greeting", Greeting(), true),
        ("smalltalk", SmallTalk(), false),
        ("math_word", MathWord(), false),
        ("math_start", MathStart(), true),
        ("arithmetic", Arithmetic(), false),
        ("code_word", CodeWord(), false),
        ("code_start", CodeStart(), true),
        ("reasoning_word", ReasoningWord(), false),
        ("puzzle", Puzzle(), false),
        ("compare", Compare(), false),
        ("wh_start", WhStart(), true),
        ("explain", Explain(), false),
        ("fact_question", FactQuestion(), false),
        ("advice_phrase", AdvicePhrase(), false),
        ("advice_start", AdvicePhrase(), true),
        ("personal_context", PersonalContext(), false),
        ("write_start", WriteStart(), true),
        ("quoted_payload", QuotedPayload(), false),
        ("colon_payload", ColonPayload(), false),
    ];

    private static readonly string[] StructuralNames =
    [
        "log_chars", "short_lt6_words", "short_lt15_words", "question_end", "question_count", "first_person_rate",
        "code_fence", "code_present", "stack_trace", "math_notation", "table", "json", "csv", "list_items",
        "non_latin", "emoji", "exclamations", "digits_rate", "line_count", "instruction_count",
    ];

    // Cues searched in the whole window, in unions of four: a union that does not match settles its cues at 0 in one pass.
    private static readonly PatternUnions WindowCueUnions = new(
        [.. Cues.Select(c => c.Pattern)],
        i => !Cues[i].AtStart && Cues[i].Pattern.Options == (Options | RegexOptions.NonBacktracking),
        Options,
        maxMembers: 4);

    // Cues matched on the start of the text, in unions of four too (one pass over the start per union, not per cue).
    private static readonly PatternUnions StartCueUnions = new(
        [.. Cues.Select(c => c.Pattern)],
        i => Cues[i].AtStart && Cues[i].Pattern.Options == (Options | RegexOptions.NonBacktracking),
        Options,
        maxMembers: 4);

    /// <summary>Each cue's pattern and whether it is matched on the start of the text only, for tests.</summary>
    internal static IEnumerable<(Regex Pattern, bool AtStart)> CuePatterns => Cues.Select(c => (c.Pattern, c.AtStart));

    public static IReadOnlyList<string> Names { get; } = [.. Cues.Select(c => c.Name), .. StructuralNames];

    public static int Count => Cues.Length + StructuralNames.Length;

    /// <summary>Index of the feature that is 1 for text outside the Latin script.</summary>
    public static int NonLatinIndex { get; } = Cues.Length + Array.IndexOf(StructuralNames, "non_latin");

    /// <summary>Fills <paramref name="features"/> (length <see cref="Count"/>) from the instruction window and structural signals.</summary>
    public static void Compute(string window, StructuralSignals signals, string script, Span<float> features)
    {
        window = SeparateScripts(window);
        var start = window.AsSpan().TrimStart(LeadingPunctuation);
        start = start.Length <= StartChars ? start : start[..StartChars];
        Span<sbyte> unionState = stackalloc sbyte[WindowCueUnions.Count];
        unionState.Fill(-1);
        Span<sbyte> startState = stackalloc sbyte[StartCueUnions.Count];
        startState.Fill(-1);
        var i = 0;
        foreach (var (_, pattern, atStart) in Cues)
        {
            var may = atStart ? StartCueUnions.MayMatch(i, start, startState) : WindowCueUnions.MayMatch(i, window, unionState);
            features[i] = may && pattern.IsMatch(atStart ? start : window.AsSpan()) ? 1f : 0f;
            i++;
        }

        var words = Math.Max(1, signals.WordCount);
        var trimmed = window.AsSpan().TrimEnd();
        features[i++] = MathF.Log(1 + signals.CharCount) / 10f;
        features[i++] = signals.WordCount < 6 ? 1f : 0f;
        features[i++] = signals.WordCount < 15 ? 1f : 0f;
        features[i++] = trimmed.Length > 0 && (trimmed[^1] == '?' || trimmed[^1] == '？') ? 1f : 0f;
        features[i++] = MathF.Min(signals.QuestionCount, 5) / 5f;
        features[i++] = MathF.Min(1f, FirstPersonCount(window) * 8f / words);
        features[i++] = signals.CodeBlockCount > 0 ? 1f : 0f;
        features[i++] = signals.HasCode ? 1f : 0f;
        features[i++] = signals.HasStackTrace ? 1f : 0f;
        features[i++] = MathF.Min(signals.MathNotationCount, 10) / 10f;
        features[i++] = signals.HasTable ? 1f : 0f;
        features[i++] = signals.HasJson ? 1f : 0f;
        features[i++] = signals.HasCsv ? 1f : 0f;
        features[i++] = MathF.Min(signals.ListItemCount, 10) / 10f;
        features[i++] = script is "Latin" or "None" ? 0f : 1f;
        features[i++] = HasEmoji(window) ? 1f : 0f;
        features[i++] = MathF.Min(window.AsSpan().Count('!'), 3) / 3f;
        features[i++] = MathF.Min(1f, DigitRate(window) * 5f);
        features[i++] = MathF.Log(1 + signals.LineCount) / 5f;
        features[i] = MathF.Min(signals.InstructionCount, 10) / 10f;
    }

    /// <summary>Whether the text names a programming topic (the <c>code_word</c> cue): "how do I …" about code is a coding question.</summary>
    internal static bool NamesCodeTopic(ReadOnlySpan<char> text) => Patterns.CodeWord.IsMatch(text);

    private const string LeadingPunctuation = " \t\r\n¡¿\"'“‘«„「*#>-_([{";

    /// <summary>Puts a space between CJK characters and Latin letters or digits so that \b-anchored cues ("python" in "用Python写") match.</summary>
    internal static string SeparateScripts(string text)
    {
        var span = text.AsSpan();
        if (span.IndexOfAnyInRange('\u3040', '\uD7AF') < 0)
        {
            return text;
        }

        var builder = new System.Text.StringBuilder(text.Length + 16);
        for (var i = 0; i < span.Length; i++)
        {
            if (i > 0 && IsCjk(span[i]) != IsCjk(span[i - 1]) && (char.IsAsciiLetterOrDigit(span[i]) || char.IsAsciiLetterOrDigit(span[i - 1])))
            {
                builder.Append(' ');
            }

            builder.Append(span[i]);
        }

        return builder.ToString();
    }

    private static bool IsCjk(char c) => c is >= '\u3040' and <= '\u30FF' or >= '\u3400' and <= '\u9FFF' or >= '\uAC00' and <= '\uD7AF';

    private static int FirstPersonCount(string text)
    {
        var count = 0;
        foreach (var _ in FirstPerson().EnumerateMatches(text))
        {
            count++;
        }

        return count;
    }

    private static bool HasEmoji(string text)
    {
        for (var i = 0; i < text.Length - 1; i++)
        {
            if (char.IsHighSurrogate(text[i]) && char.IsLowSurrogate(text[i + 1]))
            {
                var cp = char.ConvertToUtf32(text[i], text[i + 1]);
                if (cp is >= 0x1F300 and <= 0x1FAFF)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static float DigitRate(string text)
    {
        if (text.Length == 0)
        {
            return 0f;
        }

        var digits = 0;
        foreach (var c in text)
        {
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
        }

        return (float)digits / text.Length;
    }

    private static Regex Translate() => Patterns.Translate;

    private static Regex HowToSay() => Patterns.HowToSay;

    private static Regex TargetLanguage() => Patterns.TargetLanguage;

    private static Regex Summarize() => Patterns.Summarize;

    private static Regex Classify() => Patterns.Classify;

    private static Regex LabelSet() => Patterns.LabelSet;

    private static Regex Extract() => Patterns.Extract;

    private static Regex StructuredOutput() => Patterns.StructuredOutput;

    private static Regex CreativeNoun() => Patterns.CreativeNoun;

    private static Regex CreativeStart() => Patterns.CreativeStart;

    private static Regex WritingNoun() => Patterns.WritingNoun;

    private static Regex EditVerb() => Patterns.EditVerb;

    private static Regex Roleplay() => Patterns.Roleplay;

    private static Regex PersonaStart() => Patterns.PersonaStart;

    private static Regex Interactive() => Patterns.Interactive;

    private static Regex AssistantPersona() => Patterns.AssistantPersona;

    private static Regex Greeting() => Patterns.Greeting;

    private static Regex SmallTalk() => Patterns.SmallTalk;

    private static Regex MathWord() => Patterns.MathWord;

    private static Regex MathStart() => Patterns.MathStart;

    private static Regex Arithmetic() => Patterns.Arithmetic;

    private static Regex CodeWord() => Patterns.CodeWord;

    private static Regex CodeStart() => Patterns.CodeStart;

    private static Regex ReasoningWord() => Patterns.ReasoningWord;

    private static Regex Puzzle() => Patterns.Puzzle;

    private static Regex Compare() => Patterns.Compare;

    private static Regex WhStart() => Patterns.WhStart;

    private static Regex Explain() => Patterns.Explain;

    private static Regex FactQuestion() => Patterns.FactQuestion;

    private static Regex AdvicePhrase() => Patterns.AdvicePhrase;

    private static Regex PersonalContext() => Patterns.PersonalContext;

    private static Regex WriteStart() => Patterns.WriteStart;

    private static Regex QuotedPayload() => Patterns.QuotedPayload;

    private static Regex ColonPayload() => Patterns.ColonPayload;

    private static Regex FirstPerson() => Patterns.FirstPerson;

    /// <summary>The patterns, built once on first use.</summary>
    private static class Patterns
    {
        internal static readonly Regex Translate = RegexFactory.Create(@"\b(translat\w*|übersetz\w*|traduz\w*|traduc\w*|tradui[rstz]\w*|tradução|localiz\w* (this|the|it|for)|auf (englisch|deutsch|spanisch|französisch)|in (plain )?english please)\b|翻译|翻訳|译成|翻成|訳して|英訳|和訳|अनुवाद", Options);

        internal static readonly Regex HowToSay = RegexFactory.Create(@"\b(how (do|would) (you|i) say|what('?s| is| does) .{1,40} (mean )?in (english|spanish|french|german|italian|japanese|chinese|portuguese|korean|hindi|russian|arabic)|what does '[^']{1,40}' mean|wie sagt man|c[oó]mo se dice|comment dit-on|como se diz|was heißt .{1,40} auf)\b", Options);

        internal static readonly Regex TargetLanguage = RegexFactory.Create(@"\b(in|into|to|from) (simplified |traditional |brazilian |european |plain )?(english|spanish|french|german|italian|japanese|chinese|mandarin|portuguese|korean|hindi|russian|arabic|dutch|polish|turkish|vietnamese)\b|\b(auf|ins) (englisch|deutsche?)|\ben (anglais|français|espagnol|inglés|español|inglês)|英文|英語|中文|日本語|अंग्रेज़ी", Options);

        internal static readonly Regex Summarize = RegexFactory.Create(@"\b(summar\w*|tl;?dr|gist|condense|recap|key (points|takeaways)|main (points|themes|ideas)|synthesi[sz]e|in (one|two|three|\d) sentences?|zusammenfass\w*|fasse .{0,40}zusammen|resum[eai]\w*|résum\w*)\b|总结|概括|摘要|要約|まとめ|सारांश", Options);

        internal static readonly Regex Classify = RegexFactory.Create(@"\b(classif\w*|categori[sz]\w*|label (each|it|them|the|these|every)|tag (each|every|it|them)|sentiment|spam or|positive(,)? (or|negative)|(is|does) this .{0,40}(phishing|sarcastic|fake|spam|genuine|legit|toxic|ai-generated)|which (category|type|class|language|genre|intent)|what language is|or (vegetable|fruit|mammal|not)|triage|assign .{0,40}(category|label|basis|level|tag)|rate each|sort (these|them) into|intent taxonomy|severity|klassifizier\w*|kategorisier\w*|classifique\w*|clasific\w*|classe[rz]? )\b|分类|分類|归类", Options);

        internal static readonly Regex LabelSet = RegexFactory.Create(@"\b([A-Z_]{4,}( or |, | / )[A-Z_]{4,}|(positive|negative|neutral)(,| or )|(safe|urgent|spam|legit)(,| or ) )", RegexOptions.CultureInvariant);

        internal static readonly Regex Extract = RegexFactory.Create(@"\b(extract\w*|pull (out|the|every|all)|get the .{1,40} out of|parse|list (all|every)|find (all|every)|every (date|name|url|email|number|item|deadline)|normali[sz]e|reformat|convert (this|these|it|the) .{0,30}(to|into) (json|csv|yaml|a table|columns)|(turn|put|build|make) (this|these|them|it)? ?(into|in) (a |an )?(json|csv|table|checklist|list)|what'?s the .{1,30}(number|date|name|total|amount) in|action items|extrahier\w*|saca|extrai\w*|extrae\w*)\b|提取|抽出", Options);

        internal static readonly Regex StructuredOutput = RegexFactory.Create(@"\b(as|into|in|to) (a |an |valid )?(json|csv|yaml|table|columns)\b|\bjson (array|object|schema|list)\b|\bwith (columns|fields|keys)\b|\bschema\b", Options);

        internal static readonly Regex CreativeNoun = RegexFactory.Create(@"\b(poem\w*|poetry|haiku|limerick|sonnet|verses?|stanzas?|lyrics|song|rap|rhym\w*|story|stories|tale|fiction|novel|chapter|scene|screenplay|script|one-act|play|monologue|fable|fairy ?tale|bedtime|joke|jokes|puns?|tagline|slogan|campaign hook|worldbuilding|plot twist|villain|protagonist|characters?|dialogue|fanfic\w*|narrative|cuento|poema|histoire|poème|conte|geschichte|gedicht|história|estrofas?|canción|напиши|рассказ\w*|истори\w*|стих\w*|сценари\w*|письм\w*|сказк\w*|песн\w*|персонаж\w*|ролев\w*)\b|诗|故事|小说|詩|物語|文章|日記|作文|歌词|剧本|कविता|कहानी", Options);

        internal static readonly Regex CreativeStart = RegexFactory.Create(@"^(please )?(write|compose|create|give me|come up with|generate|tell|continue|invent)?\s*(me |us )?(a |an |the |some |\d+ )?(short |dark |funny |strict |little |silly |sad |epic |quick )?(poem|haiku|limerick|sonnet|story|tale|rap|song|lyrics|bedtime|flash fiction|one-act|villain|murder mystery|fantasy|science fiction|sci-fi|fable|d&d|opening chapter|\d+ bars|two-line|tagline|joke|script)", Options);

        internal static readonly Regex WritingNoun = RegexFactory.Create(@"\b(e-?mails?|letters?|cover letter|linkedin|post|blog|essay|op-ed|article|proposal|grant|memo|announcement|newsletter|press release|tweet|caption|bio|speech|toast|reference letter|release notes|product description|ad copy|headline|résumé|resume|report|statement of need|mail|brief)\b", Options);

        internal static readonly Regex EditVerb = RegexFactory.Create(@"\b(rewrite|re-write|rephrase|reword|proofread|edit|fix (the |my |this )?(grammar|typos|spelling|wording)|polish|tighten|shorten|simplify|paraphrase|make (it|this|that) (sound|more|less|shorter|longer|warmer|friendlier|formal|professional)|sound (more|less) \w+|more (professional|formal|polite|concise)|plain (english|language)|corrige\w*|korrigier\w*|reformul\w*|umformulier\w*|höflicher|formuliere?n?)\b|書き直|改写|润色", Options);

        internal static readonly Regex Roleplay = RegexFactory.Create(@"\b(role-?\s?play\w*|pretend (you'?re|you are|to be)|act as|stay in character|in character|play (the role|a role|the part)|you play|run a text adventure|text adventure|simulation|let'?s (play|practice|pretend|run)|be (a|an|my) \w+|sei ein\w*|soyez|sé un|finja|imagine you are|you are now)\b|扮演|假装|あなたは.{1,20}です|として", Options);

        internal static readonly Regex PersonaStart = RegexFactory.Create(@"^(you are|you'?re|be|act as|pretend|imagine (you are|yourself)|roleplay|role-play|let'?s|sei|tu es|eres)\b", Options);

        internal static readonly Regex Interactive = RegexFactory.Create(@"\b(i'?ll (be|play|start|describe|tell)|i'?m (the|a|an) (customer|player|student|traveler|traveller|employee|chair|candidate|support agent|med student|captain)|i am (the|a) (customer|player|student)|ask me|one (question )?at a time|wait for my|respond (as|in character)|answer as|talk to me|react to me|greet me|begrüß\w*|don'?t break character|stay in)\b", Options);

        internal static readonly Regex AssistantPersona = RegexFactory.Create(@"^(system:\s*)?you are (a |an )?(helpful|expert|senior|experienced|professional|patient|world-class|data|skilled)\b|^(system:\s*)?you are (an? )?(ai|assistant)", Options);

        internal static readonly Regex Greeting = RegexFactory.Create(@"^(hi|hey|hello|hi there|yo|hiya|привет|спасибо|howdy|good (morning|evening|night|afternoon)|thanks|thank you|thx|ty|lol|haha|bye|ok bye|sorry|cool|nice|wow|ugh|happy (friday|monday|birthday|new year)|hallo|bonjour|bonsoir|salut|hola|ola|olá|obrigad[oa]|gracias|merci|danke|muchas gracias|ciao|namaste|नमस्ते|你好|谢谢|こんにちは|ありがとう)\b", Options);

        internal static readonly Regex SmallTalk = RegexFactory.Create(@"\b(how are you|how'?s (your|it going|your day)|what'?s up|you'?re a lifesaver|just wanna talk|just want to talk|can we (just )?chat|do you ever|what do you think of|had to tell someone|any fun plans|wie geht'?s|tu passes|comment (ça|ca) va|c[oó]mo est[aá]s|rough (day|morning)|long day|i'?m so done)\b|[😂🙏😭💍🎉❤😊]", Options);

        internal static readonly Regex MathWord = RegexFactory.Create(@"\b(solve|prove|proof|equations?|integral|integrate|integration|derivative|differentiat\w*|probability|matrix|matrices|eigen\w*|limit|converge\w*|prime|theorem|lemma|calculate|compute|how much|how many|percent\w*|average|mean|median|variance|standard deviation|confidence interval|factor\w*|arithmetic|geometric|algebra\w*|calculus|polynomial|irrational|rational|integer\w*|sqrt|square root|logarithm|mod \d|modulo|combinatori\w*|permutations?|arrangements|dice|expected value|convert \d|celsius|fahrenheit|mph|km/h|interest|tip|split|wahrscheinlichkeit|probabilidad|probabilité|calcul\w*|вычисл\w*|найди\w*|найти|решить|реши\w*|формул\w*|уравнени\w*|числ\w*|вероятност\w*|докаж\w*|функци\w*|интеграл\w*|производн\w*|дано|сумм\w*|цифр\w*)\b|確率|概率|计算|方程|证明|求|定理|函数|数列|三角形|概率|वर्गमूल|गणना", Options);

        internal static readonly Regex MathStart = RegexFactory.Create(@"^(solve|prove|show that|find (all|the (value|sum|limit|derivative|integral))|compute|calculate|evaluate the (integral|limit|sum)|what is \d|whats \d|what'?s \d+|is \d+ (a )?prime|convert \d|diagonali[sz]e|simplify|factor|differentiate|integrate|let [a-z] be|given (that )?[a-z]\s*=|∫|\d)", Options);

        internal static readonly Regex Arithmetic = RegexFactory.Create(@"\d+(\.\d+)?\s*[+\-*/×÷^]\s*\d+|\d+(\.\d+)?\s?%\s*of\s*\d+|[a-z]\s*[²³]|x\^\d|\b\d+\s*(kg|km|miles|mpg|gal|mph|°[fc])\b", Options);

        internal static readonly Regex CodeWord = RegexFactory.Create(@"\b(code|coding|function|method|class|script|regex|bug|debug\w*|error|exception|stack ?trace|compile\w*|api|sql|query|database|postgres\w*|mysql|mongodb|git|github|docker|kubernetes|python|javascript|typescript|java|c\+\+|c#|rust|golang|go service|php|ruby|bash|shell|powershell|terminal|command line|html|css|react|node|npm|django|spring|kafka|redis|algorithm|implement\w*|refactor\w*|unit tests?|endpoint|server|deploy\w*|library|framework|package|goroutines?|thread-safe|async|compiler|variable|array|list in python|json|yaml|linux|mac terminal|port \d+|process|pandas|matplotlib|numpy|swift|kotlin|android|ios|app|frontend|backend|webhook|cache|lru|o\(1\)|big-o|complexity|leetcode|program|programming|unity|excel|vba|qt|c\+\+|cpp|kotlin|dart|flutter|golang|код\w*|программ\w*)\b|```|=>|\(\)|\w+\.\w+\(|代码|程序|编程|函数|コード|プログラム|関数", Options);

        internal static readonly Regex CodeStart = RegexFactory.Create(@"^(write|create|build|implement|make|fix|debug|refactor|optimi[sz]e|convert|port|design and implement|how (do|can) i|why (does|is|do) my|regex|git|in (python|javascript|java|c\+\+|c#|rust|go|bash|sql))\b.{0,60}\b(code|function|script|program|class|api|app|regex|query|sql|python|javascript|java|rust|bash|cli|component|bot|game|server|endpoint|test|one-liner|merge|commit|branch|list|array|loop|error)", Options);

        internal static readonly Regex ReasoningWord = RegexFactory.Create(@"\b(pros and cons|trade-?offs?|evaluate|assess|analy[sz]e|argument\w*|valid|flaw\w*|fallac\w*|steelman|debate|which (is|would be|option|one) (better|best|should)|should (we|i) (choose|pick|go with|rewrite|use)|recommend\w*|rank|prioriti[sz]\w*|decide|decision|second-order|implications|consequences|effects|reason through|think through|what would happen|what if|infer\w*|inference|deduc\w*|weigh|risks|factors|strategy|strategies|vergleich\w*|compar\w*|analyse|avantages|inconvénients)\b", Options);

        internal static readonly Regex Puzzle = RegexFactory.Create(@"\b(puzzle|riddle|logic|knights?|knaves?|truth-?tellers?|liars?|what comes next|next (number|term) in|sequence|is (\w+ )?taller|older than|sits? (in|next to)|seats?|constraints?:|if every|no \w+ is|can a \w+ be|days? (ago|from now)|what day (was|is|will)|schedule .{0,40}(slots|rooms)|syllogism)\b", Options);

        internal static readonly Regex Compare = RegexFactory.Create(@"\b(vs\.?|versus|compare|comparison|compared to|difference between|better than|or should (i|we)|rather than)\b", Options);

        internal static readonly Regex WhStart = RegexFactory.Create(@"^(what|who|whom|whose|when|where|which|why|how (does|do|did|is|are|was|were|many|much|long|far|old)|is (it|there|the)|are there|does|do|did|can you explain|qu[eé]|quién|cuál|por qué|wie|was|warum|wer|pourquoi|qui|quel|quelle|o que|quem|por que)\b|[?？]$", Options);

        internal static readonly Regex Explain = RegexFactory.Create(@"\b(explain|describe|define|definition|what is (a|an|the)|what are|what does .{1,30} mean|how does .{1,40} work|why (is|are|do|does|did)|history of|tell me about|meaning of|difference between|erkläre|explica|explique)\b", Options);

        internal static readonly Regex FactQuestion = RegexFactory.Create(@"\b(capital of|who (wrote|invented|discovered|painted|founded|was)|when (did|was)|how (tall|high|far|old|big|long) (is|was)|what year|largest|smallest|tallest|population of|national (bird|animal|flower))\b|何メートル|是什么|为什么|कौन", Options);

        internal static readonly Regex AdvicePhrase = RegexFactory.Create(@"\b(should i|how (do|can|should) i|what (should|can) i do|what do i do|tips|advice|any suggestions|best way to|how to (get|deal|handle|cope|learn|improve|stop|start|prepare|build|plan|manage)|is it (worth|normal|okay|ok|safe|wise)|worth it|vale a pena|was kann ich|que devo|qu[eé] debo|que dois-je|help me (decide|choose|figure|plan)|how would you plan|what'?s a good (way|structure|approach)|how often|any tips|conselho|consejo|conseil)\b", Options);

        internal static readonly Regex PersonalContext = RegexFactory.Create(@"\b(my (boss|coworker|co-worker|manager|team|kid|son|daughter|wife|husband|partner|friend|mom|dad|mother|father|landlord|doctor|plant|dog|cat|baby|toddler|job|career|budget|trip|skills)|i'?m \d{2}\b|i'?m (a|an) \w+ (and|who|with)|i have (a|an|\d)|i want to|i need to|i'?ve been|mein\w* |mi |meu |minha |mon |ma )\b", Options);

        internal static readonly Regex WriteStart = RegexFactory.Create(@"^(please )?(write|draft|compose|create|prepare|help me write|can you write|could you write)\b", Options);

        internal static readonly Regex QuotedPayload = RegexFactory.CreateCompiled(@"[""'“‘«„「][^""'”’»“」\n]{30,}|[""'“‘«„「][^""'”’»“」]{80,}", RegexOptions.CultureInvariant);

        internal static readonly Regex ColonPayload = RegexFactory.CreateCompiled(@":\s*\n\s*\S.{40,}", RegexOptions.CultureInvariant);

        internal static readonly Regex FirstPerson = RegexFactory.Create(@"\b(i|i'm|i've|i'd|my|me|mine|myself)\b", Options);
    }
}
