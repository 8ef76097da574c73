using System.Collections.Frozen;

namespace Router.Core.Analysis;

/// <summary>Script by Unicode block counts; language by script, then by stop words for Latin-script text.</summary>
internal static class LanguageDetector
{
    private const int MaxChars = 1200;

    private static readonly FrozenDictionary<string, int> StopWords = BuildStopWords();
    private static readonly string[] LatinLanguages = ["en", "de", "es", "fr", "pt", "it", "nl"];

    public static (string Language, string Script) Detect(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return ("und", "None");
        }

        var span = text.AsSpan(0, Math.Min(text.Length, MaxChars));
        int latin = 0, cyrillic = 0, greek = 0, arabic = 0, hebrew = 0, devanagari = 0, han = 0, kana = 0, hangul = 0, thai = 0, other = 0;
        foreach (var c in span)
        {
            if (c < 0x80)
            {
                if (char.IsAsciiLetter(c))
                {
                    latin++;
                }

                continue;
            }

            switch (c)
            {
                case >= '\u00C0' and <= '\u024F':
                    latin++;
                    break;
                case >= '\u0370' and <= '\u03FF':
                    greek++;
                    break;
                case >= '\u0400' and <= '\u04FF':
                    cyrillic++;
                    break;
                case >= '\u0590' and <= '\u05FF':
                    hebrew++;
                    break;
                case >= '\u0600' and <= '\u06FF':
                    arabic++;
                    break;
                case >= '\u0900' and <= '\u097F':
                    devanagari++;
                    break;
                case >= '\u0E00' and <= '\u0E7F':
                    thai++;
                    break;
                case >= '\u3040' and <= '\u30FF':
                    kana++;
                    break;
                case >= '\u4E00' and <= '\u9FFF':
                case >= '\u3400' and <= '\u4DBF':
                    han++;
                    break;
                case >= '\uAC00' and <= '\uD7AF':
                    hangul++;
                    break;
                default:
                    if (char.IsLetter(c))
                    {
                        other++;
                    }

                    break;
            }
        }

        // CJK characters carry about as much as a short Latin word, so weigh them up against letters.
        var scores = new (string Script, int Score, string Language)[]
        {
            ("Latin", latin, ""),
            ("Cyrillic", cyrillic, "ru"),
            ("Greek", greek, "el"),
            ("Arabic", arabic, "ar"),
            ("Hebrew", hebrew, "he"),
            ("Devanagari", devanagari, "hi"),
            ("Thai", thai, "th"),
            ("Japanese", kana > 0 ? (kana + han) * 3 : 0, "ja"),
            ("Han", kana > 0 ? 0 : han * 3, "zh"),
            ("Hangul", hangul * 3, "ko"),
            ("Other", other, "und"),
        };
        var best = scores[0];
        foreach (var s in scores)
        {
            if (s.Score > best.Score)
            {
                best = s;
            }
        }

        if (best.Score == 0)
        {
            return ("und", "None");
        }

        if (best.Script != "Latin")
        {
            return (best.Language, best.Script);
        }

        return (DetectLatin(span), "Latin");
    }

    private static string DetectLatin(ReadOnlySpan<char> text)
    {
        Span<double> score = stackalloc double[LatinLanguages.Length];
        Span<char> lower = stackalloc char[24];
        var lookup = StopWords.GetAlternateLookup<ReadOnlySpan<char>>();
        var position = 0;
        var wordIndex = 0;
        while (position < text.Length)
        {
            while (position < text.Length && !char.IsLetter(text[position]) && text[position] != '\'')
            {
                position++;
            }

            var start = position;
            while (position < text.Length && (char.IsLetter(text[position]) || text[position] == '\''))
            {
                position++;
            }

            var length = position - start;
            if (length == 0 || length > lower.Length)
            {
                continue;
            }

            wordIndex++;
            var word = text.Slice(start, length);
            word.ToLowerInvariant(lower);
            if (lookup.TryGetValue(lower[..length], out var mask))
            {
                // The first words usually carry the user's own instruction; quoted material tends to follow it.
                var weight = wordIndex <= 12 ? 3.0 : 1.0;
                for (var i = 0; i < LatinLanguages.Length; i++)
                {
                    if ((mask & (1 << i)) != 0)
                    {
                        score[i] += weight;
                    }
                }
            }
        }

        var best = 0;
        for (var i = 1; i < score.Length; i++)
        {
            if (score[i] > score[best])
            {
                best = i;
            }
        }

        return score[best] > 0 ? LatinLanguages[best] : "en";
    }

    private static FrozenDictionary<string, int> BuildStopWords()
    {
        var lists = new[]
        {
            "the a an and or of to in is are was were be been it this that these those for with on at by from as what how why who when where which can could would should do does did i you my your me we our not no yes please if then than so but have has had will just about into like thanks thank hi hello there their they them he she his her its",
            "der die das und oder ist sind war nicht ein eine einen einem einer ich du mein meine mir mich wir sie es zu mit auf für von bei wie was warum wer wenn dass den dem des im ins auch noch nur schon aber hallo danke bitte kannst können heute geht hier diese diesen",
            "el la los las y o es son era no un una unos yo tú mi mis me nosotros ellos ella con por para de del al en que qué cómo como por qué quién cuando dónde este esta estos pero muy gracias hola puedes también se lo le su sus",
            "le la les et ou est sont était ne pas un une des je tu mon ma mes moi nous vous il elle ils avec pour de du au aux en que qui quoi comment pourquoi quand où ce cette ces mais très merci bonjour bonsoir peux aussi se sur dans",
            "o a os as e ou é são era não um uma uns eu tu meu minha meus me nós eles ela com por para de do da dos das no na em que quê como porque quem quando onde este esta isso mas muito obrigado obrigada olá pode também se seu sua você",
            "il lo la gli le e o è sono era non un una io tu mio mia me noi voi lui lei con per di del della in che cosa come perché chi quando dove questo questa ma molto grazie ciao puoi anche si",
            "de het een en of is zijn was niet ik jij je mijn mij wij zij met voor van in dat wat hoe waarom wie wanneer waar deze dit maar ook heel dank bedankt hallo kun kunt",
        };
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var language = 0; language < lists.Length; language++)
        {
            foreach (var word in lists[language].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                map[word] = map.GetValueOrDefault(word) | (1 << language);
            }
        }

        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
