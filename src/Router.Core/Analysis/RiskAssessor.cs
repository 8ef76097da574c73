using System.Text.RegularExpressions;

namespace Router.Core.Analysis;

/// <summary>
/// Rule-based risk: personal-data detectors plus keyword and phrase evidence per category. Each rule carries the level it
/// implies on its own; the request's level is the highest one. Phrases are chosen so that idioms ("kill the process",
/// "legal JSON", "shoot me an email") do not match.
/// </summary>
internal static partial class RiskAssessor
{
    private const int MaxEvidencePerCategory = 4;

    private static readonly Rule[] Rules =
    [
        new(RiskCategory.SelfHarm, "self_harm.ideation", SelfHarmIdeation(), RiskLevel.High, LookAlike()),
        new(RiskCategory.SelfHarm, "self_harm.self_injury", SelfInjury(), RiskLevel.High),
        new(RiskCategory.SelfHarm, "self_harm.distress", Distress(), RiskLevel.Low),
        new(RiskCategory.Medical, "medical.emergency", MedicalEmergency(), RiskLevel.High),
        new(RiskCategory.Medical, "medical.dosage", Dosage(), RiskLevel.High),
        new(RiskCategory.Medical, "medical.interaction", Interaction(), RiskLevel.High),
        new(RiskCategory.Medical, "medical.fever_reading", FeverReading(), RiskLevel.High),
        new(RiskCategory.Medical, "medical.clinical", Clinical(), RiskLevel.Medium, LookAlike()),
        new(RiskCategory.Medical, "medical.medication_use", MedicationUse(), RiskLevel.Medium),
        new(RiskCategory.Medical, "medical.general", MedicalGeneral(), RiskLevel.Low),
        new(RiskCategory.Legal, "legal.proceedings", LegalProceedings(), RiskLevel.High, LookAlike()),
        new(RiskCategory.Legal, "legal.forgery", Forgery(), RiskLevel.High),
        new(RiskCategory.Legal, "legal.matter", LegalMatter(), RiskLevel.Medium, LookAlike()),
        new(RiskCategory.Legal, "legal.general", LegalGeneral(), RiskLevel.Low),
        new(RiskCategory.Financial, "financial.consequential", FinancialConsequential(), RiskLevel.High),
        new(RiskCategory.Financial, "financial.personal_finance", FinancialMatter(), RiskLevel.Medium, LookAlike()),
        new(RiskCategory.Financial, "financial.general", FinancialGeneral(), RiskLevel.Low),
        new(RiskCategory.Security, "security.offensive", SecurityOffensive(), RiskLevel.High),
        new(RiskCategory.Security, "security.incident", SecurityIncident(), RiskLevel.Medium),
        new(RiskCategory.Security, "security.general", SecurityGeneral(), RiskLevel.Low),
    ];

    /// <summary>Each rule's name and pattern, for tests.</summary>
    internal static IEnumerable<(string Name, Regex Pattern)> RulePatterns => Rules.Select(r => (r.Name, r.Pattern));

    // Most prompts match no rule: one DFA pass per union of rules tells which rules can be skipped outright.
    private static readonly PatternUnions RuleUnions = new([.. Rules.Select(r => r.Pattern)], _ => true, Options);

    public static RiskAssessment Assess(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return RiskAssessment.None;
        }

        var evidence = new List<RiskEvidence>();
        PiiDetector.Detect(text, evidence);
        var piiKinds = CountPiiKinds(evidence);
        if (piiKinds >= 2)
        {
            // Several kinds of personal data together identify a person even when each alone is ordinary.
            evidence.Add(new RiskEvidence(RiskCategory.Pii, "pii.combination", $"{piiKinds} kinds", RiskLevel.Medium));
        }

        List<(int Start, int End)>? lookAlikes = null;
        Span<sbyte> unionState = stackalloc sbyte[RuleUnions.Count];
        unionState.Fill(-1);
        for (var r = 0; r < Rules.Length; r++)
        {
            var rule = Rules[r];
            if (!RuleUnions.MayMatch(r, text, unionState))
            {
                continue;
            }

            var added = 0;
            var nextLookAlike = 0;
            foreach (var match in rule.Pattern.EnumerateMatches(text))
            {
                if (rule.Except is not null)
                {
                    lookAlikes ??= FindLookAlikes(text);
                    if (Overlaps(lookAlikes, ref nextLookAlike, match.Index, match.Index + match.Length))
                    {
                        continue;
                    }
                }

                var value = text.AsSpan(match.Index, Math.Min(match.Length, 60)).ToString().ToLowerInvariant();
                evidence.Add(new RiskEvidence(rule.Category, rule.Name, value, rule.Level));
                if (++added >= MaxEvidencePerCategory)
                {
                    break;
                }
            }
        }

        if (evidence.Count == 0)
        {
            return RiskAssessment.None;
        }

        // Self-harm depicted in fiction about a third person is serious but not a person at risk right now.
        if (FictionFrame().IsMatch(text) && !FirstPersonIdeation().IsMatch(text))
        {
            for (var i = 0; i < evidence.Count; i++)
            {
                if (evidence[i].Category == RiskCategory.SelfHarm && evidence[i].Level == RiskLevel.High)
                {
                    evidence[i] = evidence[i] with { Level = RiskLevel.Medium };
                }
            }
        }

        // A multiple-choice item asked in the third person is a knowledge test, not someone's case: a wrong answer to
        // a bar-exam or pharmacology question harms nobody acting on it. Medical, legal and financial evidence in one
        // is capped at low; self-harm, personal data and security keep their level, and first-person wording ("my
        // dose", "I was charged") keeps everything.
        if (IsExamItem(text) && !FirstPerson().IsMatch(text))
        {
            for (var i = 0; i < evidence.Count; i++)
            {
                if (evidence[i].Category is RiskCategory.Medical or RiskCategory.Legal or RiskCategory.Financial && evidence[i].Level > ExamItemCap)
                {
                    evidence[i] = evidence[i] with { Level = ExamItemCap };
                }
            }
        }

        var level = RiskLevel.None;
        Span<int> best = stackalloc int[6];
        best.Fill(-1);
        foreach (var e in evidence)
        {
            level = e.Level > level ? e.Level : level;
            best[(int)e.Category] = Math.Max(best[(int)e.Category], (int)e.Level);
        }

        var categories = new List<RiskCategory>(6);
        for (var l = (int)RiskLevel.High; l >= (int)RiskLevel.Low; l--)
        {
            for (var c = 0; c < best.Length; c++)
            {
                if (best[c] == l)
                {
                    categories.Add((RiskCategory)c);
                }
            }
        }

        return new RiskAssessment(level, categories, evidence);
    }

    private const RiskLevel ExamItemCap = RiskLevel.Low;

    /// <summary>True when at least three lines start with the consecutive option letters "A", "B", "C" ("A." or "(A)" or "A)").</summary>
    internal static bool IsExamItem(string text)
    {
        var next = 'A';
        var lineStart = 0;
        while (lineStart < text.Length && next <= 'C')
        {
            var end = text.IndexOf('\n', lineStart);
            var line = text.AsSpan(lineStart, (end < 0 ? text.Length : end) - lineStart).TrimStart();
            if (line.StartsWith("(", StringComparison.Ordinal))
            {
                line = line[1..];
            }

            if (line.Length >= 2 && line[0] == next && line[1] is '.' or ')')
            {
                next++;
            }

            if (end < 0)
            {
                break;
            }

            lineStart = end + 1;
        }

        return next > 'C';
    }

    private static int CountPiiKinds(List<RiskEvidence> evidence)
    {
        var kinds = 0;
        string? last = null;
        foreach (var e in evidence)
        {
            if (e.Category == RiskCategory.Pii && !string.Equals(e.Rule, last, StringComparison.Ordinal)
                && !e.Rule.EndsWith("mention", StringComparison.Ordinal))
            {
                kinds++;
                last = e.Rule;
            }
        }

        return kinds;
    }

    private static List<(int Start, int End)> FindLookAlikes(string text)
    {
        var ranges = new List<(int, int)>();
        foreach (var m in LookAlike().EnumerateMatches(text))
        {
            ranges.Add((m.Index, m.Index + m.Length));
        }

        return ranges;
    }

    /// <summary>
    /// Whether [start, end) overlaps one of <paramref name="ranges"/>. Both the ranges (one regex's successive matches)
    /// and the queries (another's) come in increasing, non-overlapping order, so one cursor walks the ranges once per
    /// rule: a range ending at or before <paramref name="start"/> can overlap no later query either, and when the first
    /// range left does not overlap, no range after it (starting later still) can. Checking each query against the whole
    /// list was N²/2 comparisons for N look-alikes, all skipped without counting toward the evidence cap.
    /// </summary>
    private static bool Overlaps(List<(int Start, int End)> ranges, ref int cursor, int start, int end)
    {
        while (cursor < ranges.Count && ranges[cursor].End <= start)
        {
            cursor++;
        }

        return cursor < ranges.Count && ranges[cursor].Start < end && start < ranges[cursor].End;
    }

    private sealed record Rule(RiskCategory Category, string Name, Regex Pattern, RiskLevel Level, Regex? Except = null);

    // Idioms and technical terms that contain a risk keyword; a keyword match inside one of these does not count.
    private static Regex LookAlike() => Patterns.LookAlike;

    private const RegexOptions Options = RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

    private static Regex SelfHarmIdeation() => Patterns.SelfHarmIdeation;

    private static Regex SelfInjury() => Patterns.SelfInjury;

    private static Regex Distress() => Patterns.Distress;

    private static Regex FictionFrame() => Patterns.FictionFrame;

    private static Regex FirstPersonIdeation() => Patterns.FirstPersonIdeation;

    private static Regex FirstPerson() => Patterns.FirstPerson;

    private static Regex MedicalEmergency() => Patterns.MedicalEmergency;

    private static Regex Dosage() => Patterns.Dosage;

    private static Regex Interaction() => Patterns.Interaction;

    private static Regex FeverReading() => Patterns.FeverReading;

    private static Regex Clinical() => Patterns.Clinical;

    private static Regex MedicationUse() => Patterns.MedicationUse;

    private static Regex MedicalGeneral() => Patterns.MedicalGeneral;

    private static Regex LegalProceedings() => Patterns.LegalProceedings;

    private static Regex Forgery() => Patterns.Forgery;

    private static Regex LegalMatter() => Patterns.LegalMatter;

    private static Regex LegalGeneral() => Patterns.LegalGeneral;

    private static Regex FinancialConsequential() => Patterns.FinancialConsequential;

    private static Regex FinancialMatter() => Patterns.FinancialMatter;

    private static Regex FinancialGeneral() => Patterns.FinancialGeneral;

    private static Regex SecurityOffensive() => Patterns.SecurityOffensive;

    private static Regex SecurityIncident() => Patterns.SecurityIncident;

    private static Regex SecurityGeneral() => Patterns.SecurityGeneral;

    /// <summary>The patterns, built once on first use.</summary>
    private static class Patterns
    {
        internal static readonly Regex LookAlike = RegexFactory.Create(@"\b(suicide (squeeze|squad|doors|king|run|mission|pass)|shotgun surgery|smart contracts?|(where|having|select|from|join|on|by|with|catch|finally|else|using|when|if|for|sql|limit|offset|returning|case) clauses?|(technical|tech|design|code) debt|(cache|lru|key|entry|page|memory|buffer|ttl|ttl-based|an) eviction|eviction (polic\w*|strateg\w*|order|callback|time|rate|metrics?|counts?|stats?)|\w+/eviction|eviction/\w+)\b", Options);

        internal static readonly Regex SelfHarmIdeation = RegexFactory.Create(@"\b(suicid\w*|kill (my ?self|themselves|herself|himself)|end (my|his|her) (own )?life|end it all|want(ed)? to die|wanna die|(don'?t|do not) (really )?want to (be here|live|exist|wake up)|not (to )?wake up|stop existing|better off without me|no (point|reason) (in )?(living|going on)|(don'?t|can'?t) see the point( anymore| in anything)|nobody would (even )?(notice|care) if i (was|were) gone|won'?t need (any of )?(it|this|them) after|giving away my (things|stuff|belongings)|writing (goodbye |farewell )?letters to (people|everyone)|how i would do it|take my (own )?life|lebensmüde|me quiero morir|quiero morir|je veux mourir|quero morrer)\b", Options);

        internal static readonly Regex SelfInjury = RegexFactory.Create(@"\b(self[- ]?harm\w*|self[- ]?injur\w*|cutting (my|him|her|them)sel(f|ves)|cut (my|him|her)self|hurt(ing)? (my|him|her)self|burn(ing)? (my|him|her)self|overdos\w*)\b", Options);

        internal static readonly Regex Distress = RegexFactory.Create(@"\b(i feel (so |really |kind of |kinda )?(lonely|alone|empty|hopeless|worthless)|feeling (hopeless|worthless|empty))\b", Options);

        internal static readonly Regex FictionFrame = RegexFactory.Create(@"\b(writ\w+|novel|story|fiction|scene|screenplay|character|chapter|poem)\b", Options);

        // "I" only with a verb, so the Roman numeral of "I and II only" does not count; case-sensitive for the same reason.
        internal static readonly Regex FirstPerson = RegexFactory.Create(@"\b(I('m|'ve|'d| am| have| was| had| took| take| need| want| got| feel| think| can| should)|[Mm]y|[Mm]e|[Mm]yself|[Mm]ine)\b", RegexOptions.CultureInvariant);

        internal static readonly Regex FirstPersonIdeation = RegexFactory.Create(@"\b(i (just )?want to (die|stop existing)|i mean every word|kill myself|my (own )?life)\b", Options);

        internal static readonly Regex MedicalEmergency = RegexFactory.Create(@"\b(chest (pain|tightness|pressure)|tingling in (my|his|her) (left )?arm|left arm|can'?t breathe|shortness of breath|trouble breathing|difficulty breathing|face (feels |is )?droop\w*|slurred speech|(a|having a|had a|mini) stroke|stroke symptoms|seizures?|(is|was|went|fell) unconscious|passed out|anaphyla\w*|neck stiffness|stiff neck|coughing (up )?blood|blood in (my |his |her |the )?(urine|stool|vomit)|black stools|vomiting blood|severe bleeding|won'?t stop bleeding|poison(ed|ing)|allergic reaction|call 911|emergency room|progressive confusion|(swallowed|drank|ingested|has eaten|ate|got into|chewed on) (some |a |an |the |half a |half of a |a whole |a few |two |his |her |my |our )?(bleach|detergent|laundry pods?|tide pods?|dishwasher (pods?|tablets?)|(button |coin |lithium )?batter(y|ies)|magnets?|drain cleaner|antifreeze|rat poison|pesticide|weed ?killer|cleaning (products?|fluid)|lighter fluid|gasoline|petrol|lamp oil|essential oils?|nicotine|vape (juice|liquid)|e-liquid|(wild )?mushrooms?|(his|her|my|mom'?s|dad'?s|grandma'?s)? ?(pills|medicine|medication))|(whole|entire) (bottle|pack|box|packet) of (pills|tablets|capsules|medicine|medication|(sleeping|sleep|pain|diet) pills|tylenol|advil|aspirin|ibuprofen|acetaminophen|paracetamol|xanax|ambien|melatonin|benadryl)|(he|she|they|baby|friend|son|daughter|husband|wife|mom|dad|mother|father|brother|sister) (won'?t|will not|can'?t|cannot|doesn'?t|does not) wake up|won'?t wake (him|her|them) up|(is|was) unresponsive|took \d+(\.\d+)?\s?(g|grams)\b)\b", Options);

        internal static readonly Regex Dosage = RegexFactory.Create(@"\b(\d+(\.\d+)?\s?(mg|mcg|µg|ml|mL|IU)(/kg)?(/day)?\b[^.\n]{0,40}\b(dose|doses|dosing|every|per|twice|daily|a day|tablets?|pills?|divided)|(max(imum)?|safe|daily|right|correct) (daily )?dos(e|age)|how many (mg|ml|mL|pills|tablets|capsules)|how (much|many) .{0,30}(should i|do i|can i) (give|take)|(what|which) (dose|dosage|amount) of \w+( \w+)? (should|can|do|could) (i|we) (give|take)|pills would it take|dosage|posologie|dosis)\b", Options);

        internal static readonly Regex Interaction = RegexFactory.Create(@"\b((take|taking|mix|mixing|combine|combining) (acetaminophen|paracetamol|tylenol|ibuprofen|advil|aspirin|naproxen|aleve|warfarin|lisinopril|metformin|insulin|sertraline|zoloft|fluoxetine|prozac|ssris?|antidepressants?|amoxicillin|antibiotics?|statins?|atorvastatin|levothyroxine|prednisone|oxycodone|opioids?|xanax|benadryl|melatonin|alcohol|beers?|wine|grapefruit|viagra|birth control|ambien|tramadol|gabapentin|codeine) (with|and|while on|after)\b|(take|taking|mix|mixing|combine|combining) (\w+ ){0,2}(with|and|while on) (my |his |her )?(acetaminophen|paracetamol|tylenol|ibuprofen|advil|aspirin|naproxen|aleve|warfarin|lisinopril|metformin|insulin|sertraline|zoloft|fluoxetine|prozac|ssris?|antidepressants?|amoxicillin|antibiotics?|statins?|atorvastatin|levothyroxine|prednisone|oxycodone|opioids?|xanax|benadryl|melatonin|alcohol|beers?|wine|grapefruit|viagra|birth control|ambien|tramadol|gabapentin|codeine)|(drug|medication) interactions?|interacts? with (my|his|her) (medication|meds|pills))\b", Options);

        internal static readonly Regex FeverReading = RegexFactory.Create(@"(\b\d{2}[.,]\d\s?(°|degrees?)?\s?(c|f)?\s?(de |of )?(fever|fièvre|fiebre|febre|fieber)|(fever|fièvre|fiebre|febre|fieber)\s?(of )?\d{2,3}([.,]\d)?)", Options);

        internal static readonly Regex Clinical = RegexFactory.Create(@"\b(diagnos\w*|differential diagnosis|symptoms?|biops\w*|carcinoma|tumou?r|oncolog\w*|chemo\w*|(breast|lung|skin|prostate|colon|stage \d|metastatic) cancer|cancer (diagnosis|treatment|screening)|diabet\w*|T2DM|hypertension|heart failure|afib|atrial fibrillation|HIV|hepatitis|(major|moderate|severe|clinical|postpartum) depression|been (really )?depressed|panic attacks?|anxiety disorder|ptsd|bipolar|schizophren\w*|adhd|asthma|migraine|infection|pneumonia|sepsis|meningitis|dementia|fracture|concussion|pregnan\w*|miscarriage|lab results?|blood (test|work|pressure)|discharge summary|clinic note|hospital(s|i[sz]ed|i[sz]ation)?|icu|surgery|physician|pediatrician|oncologist|endocrinologist|cardiologist|psychiatrist|therapist|psychotherap\w*|cbt|ssris?|antidepressants?|clinical trial|informed consent|patients|patient (portal|record|id|name|notes|messages|history|data)|prescri\w*|medication|side effects|soap(-format)? (note|format)|progress note|session notes|diagnóstico|prontuário|paciente|médecin|consulter un médecin|arzt|krank\w*|rezept|médico|fiebre|fièvre|febre|fieber|fever|warfarin|lisinopril|levothyroxine|sertraline|amoxicillin|atorvastatin|insulin|metformin|opioids?|oxycodone|benzodiazepines?)\b", Options);

        internal static readonly Regex MedicationUse = RegexFactory.Create(@"\b(taking|take|taken|prescribed|on) (\d+ ?mg (of )?)?(acetaminophen|paracetamol|tylenol|ibuprofen|advil|aspirin|naproxen|antibiotics?|xanax|adderall|prednisone|statins?|birth control|the pill)\b", Options);

        internal static readonly Regex MedicalGeneral = RegexFactory.Create(@"\b(acetaminophen|paracetamol|tylenol|ibuprofen|aspirin|antibiotics?|inhaler|vaccin\w*|virus|bacteria|doctor|dentist|nurse|medical|medicine|health|injury|pain|toothache|rash|allergy|allergies|calories|diet)\b", Options);

        internal static readonly Regex LegalProceedings = RegexFactory.Create(@"\b(eviction|evicted|evicting (me|us|my|the tenant)|notice to vacate|court (papers|date|hearing|case|order)|hearing date|lawsuits?|sue (him|her|them|me|us|my)|suing|file (a )?suit|sued|cease and desist|restraining order|arrest(ed)?|criminal (charges?|record)|charged with|dui|dwi|custody|deport\w*|subpoena\w*|small claims|penalty abatement|irs (letter|audit|penalty|notice)|without a lawyer|visa overstay|bankruptcy)\b", Options);

        internal static readonly Regex Forgery = RegexFactory.Create(@"\b(make it look like (it'?s|it is) from|doctor'?s note|fake (a |an )?(id|note|document|letter|signature|receipt)|forg(e|ed|ing|ery) (a |an |the )?(signature|document|note|letter|check|cheque)|pass (it )?off as (official|real))\b", Options);

        internal static readonly Regex LegalMatter = RegexFactory.Create(@"\b(contracts?|agreement i'?m (about to|going to) sign|lease|clauses?|early termination|termination (fee|terms|clause)|statute of limitations|liabilit(y|ies)|indemnif\w*|is it (il)?legal|legally|lawyer|attorney|legal (advice|rights|action|meaning|obligations?|requirements?)|breach of|trademark|copyright|infring\w*|informed consent|llc|s-corp|sole proprietor|divorce|wrongful(ly)? (termination|dismissal)|fired for|discriminat\w*|kündig\w*|fristen|anwalt|abogado|avocat|advogado|record (a|the|our) (phone )?call|police report|insurance claim|immigration|work permit|permiso de trabajo|1099(-k)?|steuererklärung|harassment)\b", Options);

        internal static readonly Regex LegalGeneral = RegexFactory.Create(@"\b(legalese|terms of service|privacy policy|gdpr|lawful basis|regulation|compliance|landlord|notary)\b", Options);

        internal static readonly Regex FinancialConsequential = RegexFactory.Create(@"\b(how much (\w+ ){0,3}tax (will|would|do) i owe|capital gains tax|1099(-k)?|irs\b|penalty abatement|(put|invest|move) (it )?all (of )?(my |it |in)|leveraged (etf|s&p|fund)|\dx leveraged|margin (call|loan)|cash out (my )?(401|ira|pension)|foreclos\w*|payday loan|taxed on)\b", Options);

        internal static readonly Regex FinancialMatter = RegexFactory.Create(@"\b(mortgage|(my|a|an|the|our|\$[\d,.]+k?) (\w+ )?loans?|refinanc\w*|(credit card|student|personal|car) debt|debt\b|\d+(\.\d+)?\s?% apr\b|apr of|interest rate|credit score|invest(ing|ment|ments|ed)? (in|my|\$)|etfs?\b|index funds?|401\(?k\)?|\bira\b|roth|pension|retirement (savings|account|fund)|taxes|taxable|tax (return|bill|bracket|deduction)|steuer\w*|impuestos?|imposto|impôts?|financiamento|saldo devedor|hipoteca|seed round|raise (a |our )?(seed|round|funding)|months of runway|valuation|fundrais\w*|likely_fraud|fraud(ulent)? (charges?|transactions?|activity|alert)|(transactions?|charges?|card)\W+(\w+\W+){0,6}fraud\w*|bank statement|account holder|shares of|sell \d+ shares|emergency fund|crypto(currency|currencies)?\b|bitcoin|net worth|self-employment tax|sparerpauschbetrag|ausschüttung\w*)\b", Options);

        internal static readonly Regex FinancialGeneral = RegexFactory.Create(@"\b(stocks?|invest\w*|savings|runway|loans?|earnings|revenue|invoice|overdue|budget|finance|financial|bank|salary|compound(ed)? (interest|monthly)|interest|tax)\b", Options);

        internal static readonly Regex SecurityOffensive = RegexFactory.Create(@"\b(brute-?forc\w*|keylog\w*|ransomware|malware|trojan|botnet|ddos|write (an? |the )?exploit|exploit (code|kit|for (a |the )?(cve|vuln\w*))|zero-day|reverse shell|crack (the |a |my |their )?(password|wifi|wi-fi|hash|license)|hack into|bypass (the )?(auth\w*|login|2fa|mfa|paywall|license check|drm)|steal\w* (cookies|passwords|credentials|data|accounts)|credential stuffing|phishing (kit|page|site) (to|that)|wordlist|password spray\w*|dump (the |their )?(database|passwords|hashes)|privilege escalation|rootkit|spyware|stalkerware|track (my )?(wife|husband|girlfriend|boyfriend|partner|ex)'?s? (phone|location))\b", Options);

        internal static readonly Regex SecurityIncident = RegexFactory.Create(@"\b(hacked|compromised|(data|security) breach\w*|breached|logged in(to)? (to )?my \w+ from|unauthori[sz]ed (access|login|charges?)|(pushed|committed|leaked|exposed|posted|uploaded)\b[^.\n]{0,60}\b(keys?|secrets?|passwords?|credentials?|tokens?|\.env)\b|(secret|aws|private|access|api) keys? (to|in|on) (a )?public|eval\(base64_decode|web ?shell|backdoor|phishing (simulation|emails?|campaign)|social[- ]engineer\w*|threat[- ]model\w*|vulnerabilit\w*|pentest\w*|penetration test\w*|mfa code|2fa code|recovery (phone|email)( number)?|identity theft|session hijack\w*|scammer|changed my (password|recovery))", Options);

        internal static readonly Regex SecurityGeneral = RegexFactory.Create(@"\b(sql injection|xss|csrf|hash(ing)? passwords?|password hash\w*|bcrypt|argon2|phishing|cvss|auth log|failed (login|password)|incident|firewall|encrypt\w*|security)\b", Options);
    }
}
