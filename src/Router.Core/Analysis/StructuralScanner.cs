using System.Text.RegularExpressions;

namespace Router.Core.Analysis;

/// <summary>Single-pass structural facts: code, stack traces, math notation, tables, JSON, CSV, lists, instructions.</summary>
internal static partial class StructuralScanner
{
    public static StructuralSignals Scan(string scanned, int fullLength)
    {
        var span = scanned.AsSpan();
        var fences = CountOccurrences(span, "```");
        var lines = 0;
        var codeLines = 0;
        var listItems = 0;
        var pipeLines = 0;
        var tableSeparator = false;
        var csvRun = 0;
        var bestCsvRun = 0;
        var previousFields = -1;
        var words = 0;
        var questions = 0;
        var imperativeLines = 0;

        foreach (var rawLine in span.EnumerateLines())
        {
            lines++;
            var line = rawLine.Trim();
            if (line.IsEmpty)
            {
                previousFields = -1;
                csvRun = 0;
                continue;
            }

            words += CountWords(line);
            questions += line.Count('?') + line.Count('？');

            if (LooksLikeCode(line))
            {
                codeLines++;
            }

            if (IsListItem(line))
            {
                listItems++;
            }

            var pipes = line.Count('|');
            if (pipes >= 2)
            {
                pipeLines++;
                if (line.Contains("---", StringComparison.Ordinal) || line.Contains(":--", StringComparison.Ordinal))
                {
                    tableSeparator = true;
                }
            }

            var fields = Math.Max(line.Count(','), line.Count('\t'));
            if (fields >= 2 && fields == previousFields && !line.Contains(". ", StringComparison.Ordinal))
            {
                csvRun++;
                bestCsvRun = Math.Max(bestCsvRun, csvRun);
            }
            else
            {
                csvRun = 1;
            }

            previousFields = fields;

            if (ImperativeStart().IsMatch(line))
            {
                imperativeLines++;
            }
        }

        var hasFence = fences >= 2 || (fences == 1 && codeLines >= 1);
        var mathCount = CountMatches(MathNotation(), scanned, 64);
        var constraints = CountMatches(Constraint(), scanned, 32);
        var sentenceInstructions = CountMatches(InstructionSentence(), scanned, 64);
        var instructions = Math.Min(64, Math.Max(1, sentenceInstructions + Math.Min(listItems, 12) / 2 + constraints / 2));
        if (scanned.Length == 0)
        {
            instructions = 0;
        }

        return new StructuralSignals
        {
            CharCount = fullLength,
            WordCount = words,
            LineCount = lines,
            CodeBlockCount = fences / 2,
            HasCode = hasFence || codeLines >= 3 || (codeLines >= 1 && InlineCode().IsMatch(scanned)),
            HasStackTrace = StackTrace().IsMatch(scanned),
            MathNotationCount = mathCount,
            HasTable = tableSeparator || pipeLines >= 3,
            HasJson = JsonLike().IsMatch(scanned),
            HasCsv = bestCsvRun >= 3,
            ListItemCount = listItems,
            QuestionCount = questions,
            InstructionCount = Math.Max(instructions, imperativeLines > 0 ? 1 : 0),
            ConstraintCount = constraints,
        };
    }

    /// <summary>The output format the prompt or <c>response_format</c> asks for.</summary>
    public static OutputFormat RequestedFormat(string instructionText, string? responseFormatType)
    {
        if (responseFormatType is not null
            && (responseFormatType.Contains("json", StringComparison.OrdinalIgnoreCase)))
        {
            return OutputFormat.Json;
        }

        var match = FormatRequest().Match(instructionText);
        if (!match.Success)
        {
            return OutputFormat.None;
        }

        var value = match.Value;
        if (value.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return OutputFormat.Json;
        }

        if (value.Contains("csv", StringComparison.OrdinalIgnoreCase))
        {
            return OutputFormat.Csv;
        }

        if (value.Contains("tab", StringComparison.OrdinalIgnoreCase))
        {
            return OutputFormat.Table;
        }

        return OutputFormat.List;
    }

    internal static int CountMatches(Regex regex, string text, int cap)
    {
        var count = 0;
        foreach (var _ in regex.EnumerateMatches(text))
        {
            if (++count >= cap)
            {
                break;
            }
        }

        return count;
    }

    private static int CountOccurrences(ReadOnlySpan<char> text, string needle)
    {
        var count = 0;
        var index = text.IndexOf(needle, StringComparison.Ordinal);
        while (index >= 0)
        {
            count++;
            text = text[(index + needle.Length)..];
            index = text.IndexOf(needle, StringComparison.Ordinal);
        }

        return count;
    }

    private static int CountWords(ReadOnlySpan<char> line)
    {
        var count = 0;
        var inWord = false;
        foreach (var c in line)
        {
            if (char.IsWhiteSpace(c))
            {
                inWord = false;
            }
            else if (!inWord)
            {
                inWord = true;
                count++;
            }
        }

        return count;
    }

    private static bool IsListItem(ReadOnlySpan<char> line)
    {
        if (line.Length < 2)
        {
            return false;
        }

        var c = line[0];
        if ((c == '-' || c == '*' || c == '•' || c == '·') && line[1] == ' ')
        {
            return true;
        }

        var i = 0;
        while (i < line.Length && i < 3 && char.IsAsciiDigit(line[i]))
        {
            i++;
        }

        if (i > 0 && i < line.Length - 1 && (line[i] == '.' || line[i] == ')') && line[i + 1] == ' ')
        {
            return true;
        }

        return char.IsAsciiLetterLower(c) && line.Length > 3 && line[1] == ')' && line[2] == ' ';
    }

    private static bool LooksLikeCode(ReadOnlySpan<char> line)
    {
        if (line.Length < 3)
        {
            return line is "}" or "};" or "})" or "end";
        }

        var last = line[^1];
        if (last is ';' or '{' or '}' || line.EndsWith("):", StringComparison.Ordinal) || line.EndsWith("=>", StringComparison.Ordinal))
        {
            return !line.EndsWith(". ;", StringComparison.Ordinal);
        }

        return CodeLineStart().IsMatch(line);
    }

    private static Regex CodeLineStart() => Patterns.CodeLineStart;

    private static Regex InlineCode() => Patterns.InlineCode;

    private static Regex StackTrace() => Patterns.StackTrace;

    private static Regex MathNotation() => Patterns.MathNotation;

    private static Regex JsonLike() => Patterns.JsonLike;

    private static Regex Constraint() => Patterns.Constraint;

    private static Regex InstructionSentence() => Patterns.InstructionSentence;

    private static Regex ImperativeStart() => Patterns.ImperativeStart;

    private static Regex FormatRequest() => Patterns.FormatRequest;

    /// <summary>The patterns, built once on first use.</summary>
    private static class Patterns
    {
        internal static readonly Regex CodeLineStart = RegexFactory.Create(@"^(def |class |import |from \w+ import|#include|using [A-Z]|package |func |fn |let |const |var |public |private |protected |static |return |if \(|for \(|while \(|SELECT |INSERT |UPDATE |DELETE FROM|CREATE TABLE|<\?php|<div|<html|\$ |#!/|git |npm |pip |docker |kubectl |sudo |console\.|print\(|System\.)", RegexOptions.CultureInvariant);

        internal static readonly Regex InlineCode = RegexFactory.Create(@"`[^`\n]{2,80}[(){}\[\];=.][^`\n]{0,80}`", RegexOptions.CultureInvariant);

        internal static readonly Regex StackTrace = RegexFactory.Create(@"Traceback \(most recent call last\)|^\s+at [\w$.<>]+\(.*\)|Exception in thread|\w+(Exception|Error): |error (CS|TS|C)\d{3,5}|File "".+"", line \d+|panic: |Segmentation fault|undefined reference to|cannot find symbol|stack trace|\bat .+:\d+:\d+\)", RegexOptions.Multiline | RegexOptions.CultureInvariant);

        internal static readonly Regex MathNotation = RegexFactory.Create(@"[∫∑Σ∏√∞≤≥≠±∂∇≈⁻¹²³ⁿ]|\d\s*[+\-*/×÷^]\s*\(?\d|\b[a-z]\s*[\^]\s*\d|\\(frac|sum|int|sqrt|lim|cdot|pi|alpha|theta)\b|\b(sin|cos|tan|log|ln|exp|lim)\s*[(_]|\b\d+\s*mod\s*\d+|\b[xyzn]\s*[=<>]\s*[-\d]|\bf\([xyzt]\)|[a-z]\([a-z]\)\s*=|\b\d+(\.\d+)?\s*%", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        internal static readonly Regex JsonLike = RegexFactory.Create(@"\{\s*""[^""\n]{1,60}""\s*:|\[\s*\{\s*""|^\s*\{\s*$", RegexOptions.Multiline | RegexOptions.CultureInvariant);

        internal static readonly Regex Constraint = RegexFactory.Create(@"\b(\d[\d,]*\s*(words?|sentences?|paragraphs?|bullets?|lines?|characters?|points?)|under \d+|at most|no more than|fewer than|less than \d+|exactly|must|make sure|do not|don't|without|keep (it|the|them)|only (output|return|answer|use)|in (the )?style of|no clich)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        internal static readonly Regex InstructionSentence = RegexFactory.Create(@"(^|[.!?]\s+|\n)\s*(please\s+)?(write|create|generate|make|give|list|explain|describe|summari[sz]e|translate|classify|extract|convert|rewrite|fix|find|compare|analy[sz]e|design|implement|build|add|include|use|show|tell|draft|edit|proofread|calculate|solve|prove|compute|sort|rank|label|tag|pull|turn|put|format|return|output|keep|avoid|then|also|flag|identify|suggest|recommend|provide|outline|plan|evaluate|assess|estimate|determine)\b|[^?\n]{3,}\?", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        internal static readonly Regex ImperativeStart = RegexFactory.Create(@"^(please\s+)?(write|create|generate|make|give|list|explain|describe|summari[sz]e|translate|classify|extract|convert|rewrite|fix|find|compare|analy[sz]e|design|implement|build|draft|edit|proofread|calculate|solve|prove|compute)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        internal static readonly Regex FormatRequest = RegexFactory.Create(@"\b(as|in|into|to|output|return|give me)\s+(an?\s+|valid\s+|the\s+)?(json|csv|table|markdown table|bulleted list|numbered list|list|bullet points|checklist)\b|\bjson\s+(array|object|list|schema)\b|\b\d+\s+bullets?\b|\bbullet points?\b|\bcsv with\b|\btable with\b|\btabulate\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }
}
