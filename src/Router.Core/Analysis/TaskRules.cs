using System.Text.RegularExpressions;

namespace Router.Core.Analysis;

/// <summary>
/// High-precision phrasing rules that shift the task model's probabilities: an explicit instruction ("Translate …",
/// "Classify each …", "pretend you're … and I'll …") is stronger evidence than a few labelled examples can teach a
/// linear model. Each rule multiplies one class's probability by e^bonus before renormalising.
/// </summary>
internal static partial class TaskRules
{
    private const RegexOptions Options = RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

    /// <summary>Switch for evaluation (rules on by default).</summary>
    public static bool Enabled { get; set; } = true;

    private static readonly (TaskType Task, Regex Pattern, float Bonus, int MaxWords)[] Rules =
    [
        (TaskType.Translation, TranslateInstruction(), 2.5f, int.MaxValue),
        (TaskType.Translation, HowDoYouSay(), 2.5f, 40),
        (TaskType.Summarization, SummarizeInstruction(), 2.0f, int.MaxValue),
        (TaskType.Classification, ClassifyInstruction(), 2.0f, int.MaxValue),
        (TaskType.Classification, LabelQuestion(), 1.5f, 60),
        (TaskType.Extraction, ExtractInstruction(), 1.5f, int.MaxValue),
        (TaskType.Roleplay, RoleplayInstruction(), 2.0f, int.MaxValue),
        (TaskType.Chat, ChatTurn(), 2.5f, 14),
        (TaskType.CreativeWriting, CreativeInstruction(), 1.5f, int.MaxValue),
        (TaskType.Writing, EditInstruction(), 1.5f, int.MaxValue),
        (TaskType.Writing, FunctionalWriting(), 1.5f, int.MaxValue),
        (TaskType.KnowledgeQa, FactualQuestion(), 1.0f, 80),
        (TaskType.Reasoning, ReasoningInstruction(), 1.0f, int.MaxValue),
        (TaskType.Advice, AdviceQuestion(), 1.0f, 120),
        (TaskType.Coding, CodeInstruction(), 1.5f, int.MaxValue),
        (TaskType.Reasoning, LogicPuzzle(), 1.5f, 200),
    ];

    // The rules read the same start of the text, so they are tried in unions of four first: on a text that none of a
    // union's rules matches (most texts, for most unions), one pass settles four rules. Each pass over a text costs
    // mostly cache misses in a busy server (the automaton's tables are rarely still cached), so fewer passes is the gain.
    private static readonly PatternUnions RuleUnions = new(
        [.. Rules.Select(r => r.Pattern)],
        i => Rules[i].Pattern.Options == (Options | RegexOptions.NonBacktracking),
        Options,
        maxMembers: 4);

    public static void Apply(string instruction, StructuralSignals signals, IReadOnlyList<TaskType> classes, Span<float> probabilities)
    {
        if (!Enabled)
        {
            return;
        }

        var start = instruction.AsSpan().TrimStart(" \t\r\n¡¿\"'“‘«„「*#>-_([{");
        if (start.Length > 240)
        {
            start = start[..240];
        }

        var changed = false;
        Span<sbyte> unionState = stackalloc sbyte[RuleUnions.Count];
        unionState.Fill(-1);
        for (var r = 0; r < Rules.Length; r++)
        {
            var (task, pattern, bonus, maxWords) = Rules[r];
            if (signals.WordCount <= maxWords && RuleUnions.MayMatch(r, start, unionState) && pattern.IsMatch(start) && !Overruled(task, start))
            {
                var index = IndexOf(classes, Target(task, start, signals));
                probabilities[index] *= MathF.Exp(bonus);
                changed = true;
            }
        }

        if (changed)
        {
            var sum = 0f;
            foreach (var p in probabilities)
            {
                sum += p;
            }

            for (var i = 0; i < probabilities.Length; i++)
            {
                probabilities[i] /= sum;
            }
        }
    }

    /// <summary>Whether another phrasing in the start of the text cancels a matched rule.</summary>
    private static bool Overruled(TaskType task, ReadOnlySpan<char> start) => task switch
    {
        // "You are a helpful assistant" sets up the assistant, not a character.
        TaskType.Roleplay => AssistantPersona().IsMatch(start),
        // "What are the most effective ways to …" asks how to act, not what something is.
        TaskType.KnowledgeQa => AdviceQuestion().IsMatch(start),
        _ => false,
    };

    /// <summary>The class a matched rule's bonus goes to: some instructions name one task and ask for another.</summary>
    private static TaskType Target(TaskType task, ReadOnlySpan<char> start, StructuralSignals signals) => task switch
    {
        // "How do I …" about code or with code in it is a coding question.
        TaskType.Advice when signals.HasCode || TaskFeatures.NamesCodeTopic(start) => TaskType.Coding,
        // "Translate this legalese into plain English" rewrites within one language.
        TaskType.Translation when PlainLanguage().IsMatch(start) => TaskType.Writing,
        // "Summarize the dates in this thread — just list every date" asks for fields, not a summary.
        TaskType.Summarization when FieldList().IsMatch(start) => TaskType.Extraction,
        // A Python or bash script is a program, not a screenplay.
        TaskType.CreativeWriting when CodeScript().IsMatch(start) => TaskType.Coding,
        _ => task,
    };

    private static int IndexOf(IReadOnlyList<TaskType> classes, TaskType task)
    {
        for (var i = 0; i < classes.Count; i++)
        {
            if (classes[i] == task)
            {
                return i;
            }
        }

        return 0;
    }

    private static Regex TranslateInstruction() => Patterns.TranslateInstruction;

    private static Regex HowDoYouSay() => Patterns.HowDoYouSay;

    private static Regex SummarizeInstruction() => Patterns.SummarizeInstruction;

    private static Regex ClassifyInstruction() => Patterns.ClassifyInstruction;

    private static Regex LabelQuestion() => Patterns.LabelQuestion;

    private static Regex ExtractInstruction() => Patterns.ExtractInstruction;

    private static Regex RoleplayInstruction() => Patterns.RoleplayInstruction;

    private static Regex ChatTurn() => Patterns.ChatTurn;

    private static Regex CreativeInstruction() => Patterns.CreativeInstruction;

    private static Regex EditInstruction() => Patterns.EditInstruction;

    private static Regex FactualQuestion() => Patterns.FactualQuestion;

    private static Regex ReasoningInstruction() => Patterns.ReasoningInstruction;

    private static Regex AdviceQuestion() => Patterns.AdviceQuestion;

    private static Regex FunctionalWriting() => Patterns.FunctionalWriting;

    private static Regex CodeInstruction() => Patterns.CodeInstruction;

    private static Regex PlainLanguage() => Patterns.PlainLanguage;

    private static Regex FieldList() => Patterns.FieldList;

    private static Regex CodeScript() => Patterns.CodeScript;

    private static Regex LogicPuzzle() => Patterns.LogicPuzzle;

    /// <summary>The patterns, built once on first use.</summary>
    private static Regex AssistantPersona() => Patterns.AssistantPersona;

    private static class Patterns
    {
        internal static readonly Regex AssistantPersona = RegexFactory.Create(@"^(system:\s*)?you are (a |an )?(helpful|expert|senior|experienced|professional|world-class|skilled|ai|assistant)\b", Options);

        internal static readonly Regex TranslateInstruction = RegexFactory.Create(@"^((can|could|would) you |please |pls )?(translate|übersetze?|traduz[ae]?|traduce|tradui[st]|traduire|localize)\b|^(把|请把|请将|将).{0,60}(翻译|译成)|^.{0,80}(翻译成|に翻訳|を英訳|का .{0,20} में अनुवाद)|^.{0,200}\btranslate (this|these|it|the following|that)\b|^(tu peux|peux-tu|puedes|você pode|kannst du) (traduire|traducir|traduzir|übersetzen)", Options);

        internal static readonly Regex HowDoYouSay = RegexFactory.Create(@"\b(how (do|would|can) (you|i) say|what does ['""‘“«].{1,40}['""’”»] mean in (english|spanish|french|german|italian|portuguese|dutch|russian|chinese|mandarin|japanese|korean|hindi|arabic|turkish|polish)|wie sagt man|was heißt .{1,40} auf|c[oó]mo se dice|comment (dit-on|on dit)|como se diz)\b", Options);

        internal static readonly Regex SummarizeInstruction = RegexFactory.Create(@"^((can|could) you |please |pls )?(summari[sz]e|tl;?dr|give me the gist|condense|sum up|recap)\b|^(fasse|resuma|resume|résume|résumez|请用一句话总结|总结|要約)", Options);

        internal static readonly Regex ClassifyInstruction = RegexFactory.Create(@"^((can|could) you |please )?(classify|categori[sz]e|label each|tag each|triage|sort (these|each)|rate each|assign each|klassifizier|kategorisier|classifique|clasifica|classe)\b|^(sentiment|spam or not|positive or negative|fruit or vegetable|mammal, bird)", Options);

        internal static readonly Regex LabelQuestion = RegexFactory.Create(@"^(is this|does this|was this|is the following|ce tweet est-il|est-ce que ce) .{0,60}(phishing|spam|sarcastic|sarcastique|fake|genuine|legit|toxic|ai-generated|positive|negative)|^(what language is (this|it))\b|^what (category|genre|type of) ", Options);

        internal static readonly Regex ExtractInstruction = RegexFactory.Create(@"^((can|could) you |please )?(extract|pull (out|the|every|all)|parse|list (all|every)|get (all |the )?.{1,30} out of|find (all|every)|normali[sz]e|reformat|extrahiere|saca|extraia|extrae)\b|^(from|given) (this|these|the following|the [\w\s-]{1,30} (below|above)) .{0,60}(extract|pull out|build a (table|json))|^(turn|put|convert|organi[sz]e|format) (this|these|the following|that|the|my) [\w\s'-]{0,50}\b(into|in|as|to) (a |an )?([\w-]+ ){0,2}(csv|json|table|spreadsheet|yaml)\b|^(please )?(identify|list|find|name) (all |every |each )?(the )?[\w\s,-]{1,60}\b(in|from|mentioned in) (the |these |this )?(following|text|passage|sentences?|paragraph|article|document|email|thread|transcript|reviews)\b|^given (the following|this|these) [\w\s]{1,30}, (identify|extract|list)\b", Options);

        internal static readonly Regex RoleplayInstruction = RegexFactory.Create(@"^(let'?s )?(role-?\s?play|roleplay)\b|^(pretend (you'?re|you are|to be|yourself to be)|imagine (yourself as|you'?re|you are) (a|an|my) [\w\s-]{2,40}(,|\.|—|-| and| who)|if you were (a|an|my) [\w\s'-]{2,40}, (how|what)|as (a|an) [\w\s'-]{2,40}, (how|what) would you|(assume|embrace|take on) the (role|persona|part) of|act as (my|a|an|the) \w+|be (a|an|my) [\w\s-]{2,40}(and|who|,|\.|—|-)|you'?re (a|an|my) [\w\s-]{2,60}(\.|,|—|-)|you are [\w\s-]{2,40}\.|sei ein|run a text adventure|let'?s (practice|play|pretend|run)|あなたは.{1,30}です)", Options);

        internal static readonly Regex ChatTurn = RegexFactory.Create(@"^(hi|hey|hello|hiya|yo|good (morning|evening|night|afternoon)|thanks|thank you|thx|ty|lol|haha|bye|ok bye|sorry|ugh|happy (friday|monday)|i just got|you'?re a lifesaver|do you ever|can we just chat|hallo|bonjour|bonsoir|salut|hola|olá|obrigad[oa]|gracias|muchas gracias|merci|danke|namaste|नमस्ते|你好|谢谢|こんにちは|ありがとう)\b", Options);

        internal static readonly Regex CreativeInstruction = RegexFactory.Create(@"^((please )?(write|compose|give me|create|tell) (me |us )?(a |an |\d+ |the |some )?([\w-]+ ){0,3}(poem|haiku|limerick|sonnet|story|short story|tale|rap|song|lyrics|bedtime story|flash fiction|one-act play|play|villain monologue|monologue|fable|joke|jokes|murder mystery|campaign hook|opening chapter|scene|script|taglines?)\b|(haiku|limerick|poem|bedtime story|flash fiction|\d+ bars of)\b|continue (this|the) story|escribe un cuento|escreva um poema|écris un (petit )?poème)", Options);

        internal static readonly Regex EditInstruction = RegexFactory.Create(@"^((can|could) you |please |pls )?(rewrite|re-write|rephrase|reword|proofread|edit|polish|tighten|shorten|paraphrase|make (this|it) (sound|more|less)|fix the (grammar|typos|spelling)|corrige|korrigiere|kannst du diese mail|improve the wording)\b", Options);

        internal static readonly Regex FactualQuestion = RegexFactory.Create(@"^(what is (a|an|the)\b|what are (the )?\w+|what'?s the difference|what does .{1,40} mean|explain (how|what|why|the)|how (does|do|did) [\w\s'-]{1,60} (work|happen|form|affect)|why (is|are|do|does|did) (the|a|an|some|people|we)\b|who (wrote|invented|discovered|was|is)|when (did|was)|where (is|was|do)|define\b|what happens when)", Options);

        internal static readonly Regex ReasoningInstruction = RegexFactory.Create(@"^(evaluate|analy[sz]e|assess|find the flaw|is this argument|steelman|compare|what comes next|if every|if (today|tom|a|the) .{1,80}(what|is|can|how many)|help me (rank|decide|choose|weigh)|rank these|which (option|is better|should)|analyse|vergleiche|evaluate the claim|threat-model|why (might|would) (someone|people|a person|some people|anyone)\b|how many .{3,160}\?\s*(try to |please )?explain your (answer|reasoning))", Options);

        internal static readonly Regex AdviceQuestion = RegexFactory.Create(@"^(how (do|can|should) i|should i|what should i|any tips|tips (to|for|on)|best way to|how often (do|should) (you|i)|is it (worth|normal|okay|safe)|what'?s a good (way|structure|approach)|how would you plan|my \w+ (keeps|is|has|won'?t)|what are (some |the )?((most|best|good|effective|practical|proven|common|key) ){0,3}(ways|strategies|tips|steps|habits|methods|techniques) (to|for|i can|you can))\b", Options);

        internal static readonly Regex FunctionalWriting = RegexFactory.Create(@"^((can|could) you |please |help me )?(write|draft|compose) (me |us )?(a |an |the |my )?([\w-]+ ){0,4}(e-?mail|letter|cover letter|linkedin post|post|op-ed|essay|blog post|article|proposal|memo|announcement|speech|toast|bio|newsletter|press release|reply|message|note|review|narrative section)\b", Options);

        internal static readonly Regex CodeInstruction = RegexFactory.Create(@"^((can|could) you |please |pls )?(write|create|make|build|implement|code|give me|generate)( me| us)? (a |an |the |some )?([\w#+.-]+ ){0,2}(function|method|class|program|regexp?|sql query|query|unit tests?|endpoint|cli|one-liner|(python|bash|shell|powershell|perl|ruby|php|node|js|javascript|typescript|lua|batch|sql|vba) script)\b|^regex (for|to|that)\b|^(用|请用|使用)\s*(python|java|javascript|typescript|c\+\+|c#|go|rust|sql|shell|bash)", Options);

        internal static readonly Regex PlainLanguage = RegexFactory.Create(@"\b(in|into|to) (plain|simple|everyday|normal|layman'?s?|non-?technical|regular) (english|language|terms|words)\b", Options);

        internal static readonly Regex FieldList = RegexFactory.Create(@"\b(just|only|simply) (list|pull out|extract|give me) (every|all|each|the)\b|\b(list|pull out|extract) (every|all|each) (date|name|number|amount|email|deadline|item|field|person|figure|price)s?\b|\bi (just|only) need (the )?[\w ]{1,30}, [\w ]{1,30},", Options);

        internal static readonly Regex CodeScript = RegexFactory.Create(@"\b(python|bash|shell|powershell|perl|ruby|php|node|js|javascript|typescript|lua|batch|sql|vba) script\b", Options);

        internal static readonly Regex LogicPuzzle = RegexFactory.Create(@"\b(does not belong|doesn'?t belong|odd one out|relationship between \w and \w|first two statements|true, false,? or uncertain|who is (lying|telling the truth)|knights? and knaves?|how many (brothers|sisters) does)\b", Options);
    }
}
