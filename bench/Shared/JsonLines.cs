using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Router.Bench;

/// <summary>Rows of a data file that a reader left out, counted by reason, for the log line after reading.</summary>
internal sealed class SkippedRows
{
    private readonly SortedDictionary<string, int> _reasons = new(StringComparer.Ordinal);

    public int Total { get; private set; }

    public IReadOnlyDictionary<string, int> Reasons => _reasons;

    public void Add(string reason)
    {
        _reasons[reason] = _reasons.GetValueOrDefault(reason) + 1;
        Total++;
    }

    /// <summary>"3 skipped: 2 not valid JSON, 1 no prompt", or empty when nothing was skipped.</summary>
    public override string ToString() =>
        Total == 0 ? "" : $"{Total} skipped: " + string.Join(", ", _reasons.Select(r => $"{r.Value} {r.Key}"));
}

/// <summary>
/// Reads JSON Lines data files leniently: a BOM, CRLF line endings, blank lines, lines that are not JSON objects, fields
/// that are null, missing or written in another JSON type (a count as 12.0, a boolean as 0/1, a number as a string) and
/// strings holding an unpaired surrogate escape are all read or counted, never thrown on.
/// </summary>
internal static class JsonLines
{
    private static readonly JsonDocumentOptions Options = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    /// <summary>
    /// Every line that holds a JSON object, with its 1-based line number; lines that do not are counted in
    /// <paramref name="skipped"/> and blank lines are passed over. The element is valid until the next one is read.
    /// </summary>
    public static IEnumerable<(int Line, JsonElement Row)> Read(string path, SkippedRows skipped)
    {
        var lineNumber = 0;

        // File.ReadLines drops a UTF-8 (or UTF-16) BOM, splits on \n, \r\n and \r, and decodes invalid UTF-8 as U+FFFD.
        foreach (var raw in File.ReadLines(path))
        {
            lineNumber++;
            var line = raw.TrimStart('\uFEFF');
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line, Options);
            }
            catch (JsonException)
            {
                skipped.Add("not valid JSON");
                continue;
            }

            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    skipped.Add("not a JSON object");
                    continue;
                }

                yield return (lineNumber, document.RootElement);
            }
        }
    }

    /// <summary>The string value of <paramref name="name"/>, or null when it is missing, null or not a string.</summary>
    public static string? String(JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? Text(value) : null;

    /// <summary>An identifier: a string, or a number as written; null when missing, null or empty.</summary>
    public static string? Id(JsonElement row, string name)
    {
        if (!row.TryGetProperty(name, out var value))
        {
            return null;
        }

        var id = value.ValueKind switch
        {
            JsonValueKind.String => Text(value),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
        return string.IsNullOrEmpty(id) ? null : id;
    }

    /// <summary>A finite number, also when written as a string ("0.7") or a boolean (1 or 0); null otherwise.</summary>
    public static double? Number(JsonElement row, string name)
    {
        if (!row.TryGetProperty(name, out var value))
        {
            return null;
        }

        double? number = value.ValueKind switch
        {
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.String when double.TryParse(Text(value), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            JsonValueKind.True => 1,
            JsonValueKind.False => 0,
            _ => null,
        };
        return number is { } n && double.IsFinite(n) ? n : null;
    }

    /// <summary>A boolean written as true/false, 1/0 (1.0/0.0 too) or as those in a string; null for anything else.</summary>
    public static bool? Boolean(JsonElement row, string name)
    {
        if (!row.TryGetProperty(name, out var value))
        {
            return null;
        }

        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return value.ValueKind == JsonValueKind.True;
        }

        if (Number(row, name) is { } number)
        {
            return number == 1 ? true : number == 0 ? false : null;
        }

        var text = value.ValueKind == JsonValueKind.String ? Text(value).Trim() : "";
        return text.Equals("true", StringComparison.OrdinalIgnoreCase) ? true
            : text.Equals("false", StringComparison.OrdinalIgnoreCase) ? false
            : null;
    }

    /// <summary>The strings of an array (other items left out), a lone string as a list of one, or empty.</summary>
    public static List<string> Strings(JsonElement row, string name)
    {
        var list = new List<string>();
        if (!row.TryGetProperty(name, out var value))
        {
            return list;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            list.Add(Text(value));
        }
        else if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.String)
                {
                    list.Add(Text(item));
                }
            }
        }

        return list;
    }

    /// <summary>
    /// A string element's text. An unpaired surrogate escape ("\ud800"), which <see cref="JsonElement.GetString"/>
    /// refuses, becomes U+FFFD, as a UTF-8 encoder would write it; so do unpaired surrogates however they got there.
    /// </summary>
    public static string Text(JsonElement value)
    {
        string text;
        try
        {
            text = value.GetString() ?? "";
        }
        catch (InvalidOperationException)
        {
            text = Unescape(value.GetRawText());
        }

        return ReplaceUnpairedSurrogates(text);
    }

    public static string ReplaceUnpairedSurrogates(string text)
    {
        StringBuilder? sb = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var paired = char.IsHighSurrogate(c) ? i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])
                : !char.IsLowSurrogate(c) || (i > 0 && char.IsHighSurrogate(text[i - 1]));
            if (!paired && sb is null)
            {
                sb = new StringBuilder(text.Length).Append(text, 0, i);
            }

            sb?.Append(paired ? c : '\uFFFD');
        }

        return sb?.ToString() ?? text;
    }

    /// <summary>Decodes a JSON string literal (quotes included) without validating surrogates.</summary>
    private static string Unescape(string literal)
    {
        var sb = new StringBuilder(literal.Length);
        for (var i = 1; i < literal.Length - 1; i++)
        {
            var c = literal[i];
            if (c != '\\' || i + 1 >= literal.Length - 1)
            {
                sb.Append(c);
                continue;
            }

            var e = literal[++i];
            switch (e)
            {
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u' when i + 4 < literal.Length - 1 && int.TryParse(literal.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code):
                    sb.Append((char)code);
                    i += 4;
                    break;
                default: sb.Append(e); break;
            }
        }

        return sb.ToString();
    }
}

/// <summary>A data set's files in a folder: the dev split's names where they are, else every file matching the patterns
/// (another split's names), in order.</summary>
internal static class DataFiles
{
    public static List<string> In(string directory, IEnumerable<string> devNames, params string[] patterns)
    {
        var found = devNames.Select(f => Path.Combine(directory, f)).Where(File.Exists).ToList();
        return found.Count > 0 || !Directory.Exists(directory)
            ? found
            : [.. patterns.SelectMany(p => Directory.GetFiles(directory, p).Order(StringComparer.Ordinal))];
    }
}
