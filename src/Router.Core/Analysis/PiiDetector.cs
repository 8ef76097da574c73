using System.Text.RegularExpressions;

namespace Router.Core.Analysis;

/// <summary>Finds personal data: emails, phone numbers, card numbers (Luhn), IBANs (mod 97), US SSNs and other identifier fields.</summary>
internal static partial class PiiDetector
{
    private const int MaxEvidencePerRule = 3;

    /// <summary>Whether <paramref name="text"/> holds any personal data the risk scan would report.</summary>
    public static bool Finds(string text)
    {
        var evidence = new List<RiskEvidence>();
        Detect(text, evidence);
        return evidence.Count > 0;
    }

    public static void Detect(string text, List<RiskEvidence> evidence)
    {
        Span<char> buffer = stackalloc char[32];
        var found = 0;
        var hasAt = text.Contains('@', StringComparison.Ordinal);
        var hasDigits = text.AsSpan().IndexOfAnyInRange('0', '9') >= 0;
        if (hasAt)
        {
            foreach (var match in Email().EnumerateMatches(text))
            {
                var value = text.AsSpan(match.Index, match.Length);
                var at = value.IndexOf('@');
                Add(evidence, "pii.email", string.Concat("***", value[at..]), RiskLevel.Low, ref found);
                if (found >= MaxEvidencePerRule)
                {
                    break;
                }
            }
        }

        found = 0;
        if (hasDigits)
        {
            foreach (var match in Ssn().EnumerateMatches(text))
            {
                var value = text.AsSpan(match.Index, match.Length);
                if (IsPlausibleSsn(value))
                {
                    Add(evidence, "pii.ssn", string.Concat("***-**-", value[^4..]), RiskLevel.High, ref found);
                    if (found >= MaxEvidencePerRule)
                    {
                        break;
                    }
                }
            }
        }

        found = 0;
        if (hasDigits)
        {
            foreach (var match in CardCandidate().EnumerateMatches(text))
            {
                var digits = DigitsOnly(text.AsSpan(match.Index, match.Length), buffer);
                if (digits.Length is >= 13 and <= 19 && PassesLuhn(digits) && !AllSame(digits))
                {
                    Add(evidence, "pii.card_luhn", string.Concat("card ****", digits[^4..]), RiskLevel.High, ref found);
                    if (found >= MaxEvidencePerRule)
                    {
                        break;
                    }
                }
            }
        }

        found = 0;
        if (hasDigits)
        {
            foreach (var match in IbanCandidate().EnumerateMatches(text))
            {
                var value = text.AsSpan(match.Index, match.Length);
                if (IsValidIban(value))
                {
                    Add(evidence, "pii.iban_mod97", string.Concat(value[..2], " ****"), RiskLevel.Medium, ref found);
                    if (found >= MaxEvidencePerRule)
                    {
                        break;
                    }
                }
            }
        }

        found = 0;
        if (hasDigits)
        {
            foreach (var match in Phone().EnumerateMatches(text))
            {
                var digits = DigitsOnly(text.AsSpan(match.Index, match.Length), buffer);
                if (digits.Length >= 7)
                {
                    Add(evidence, "pii.phone", string.Concat("phone ***", digits[^2..]), RiskLevel.Low, ref found);
                    if (found >= MaxEvidencePerRule)
                    {
                        break;
                    }
                }
            }
        }

        found = 0;
        foreach (var match in IdentifierField().EnumerateMatches(text))
        {
            var keyword = text.AsSpan(match.Index, match.Length).Trim().ToString().ToLowerInvariant();
            Add(evidence, "pii.identifier_field", keyword, RiskLevel.Medium, ref found);
            if (found >= MaxEvidencePerRule)
            {
                break;
            }
        }

        found = 0;
        foreach (var match in SensitiveIdMention().EnumerateMatches(text))
        {
            var keyword = text.AsSpan(match.Index, match.Length).Trim().ToString().ToLowerInvariant();
            Add(evidence, "pii.sensitive_id_mention", keyword, RiskLevel.Medium, ref found);
            if (found >= 1)
            {
                break;
            }
        }
    }

    private static void Add(List<RiskEvidence> evidence, string rule, string match, RiskLevel level, ref int found)
    {
        evidence.Add(new RiskEvidence(RiskCategory.Pii, rule, match, level));
        found++;
    }

    internal static bool PassesLuhn(ReadOnlySpan<char> digits)
    {
        var sum = 0;
        var doubleIt = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (doubleIt)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubleIt = !doubleIt;
        }

        return sum % 10 == 0;
    }

    internal static bool IsValidIban(ReadOnlySpan<char> candidate)
    {
        Span<char> compact = stackalloc char[40];
        var length = 0;
        foreach (var c in candidate)
        {
            if (c == ' ')
            {
                continue;
            }

            if (length == compact.Length)
            {
                return false;
            }

            compact[length++] = char.ToUpperInvariant(c);
        }

        if (length is < 15 or > 34)
        {
            return false;
        }

        // Move the country code and check digits to the end, map letters to 10..35, then take the number mod 97.
        var remainder = 0;
        for (var i = 0; i < length; i++)
        {
            var c = compact[(i + 4) % length];
            if (char.IsAsciiDigit(c))
            {
                remainder = ((remainder * 10) + (c - '0')) % 97;
            }
            else if (char.IsAsciiLetterUpper(c))
            {
                var value = c - 'A' + 10;
                remainder = ((remainder * 100) + value) % 97;
            }
            else
            {
                return false;
            }
        }

        return remainder == 1;
    }

    private static bool IsPlausibleSsn(ReadOnlySpan<char> value)
    {
        // Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
        var area = int.Parse(value[..3], provider: System.Globalization.CultureInfo.InvariantCulture);
        var group = value.Slice(4, 2);
        var serial = value[^4..];
        return area != 0 && area != 666 && area < 900 && group is not "00" && serial is not "0000";
    }

    private static ReadOnlySpan<char> DigitsOnly(ReadOnlySpan<char> value, Span<char> buffer)
    {
        var length = 0;
        foreach (var c in value)
        {
            if (char.IsAsciiDigit(c) && length < buffer.Length)
            {
                buffer[length++] = c;
            }
        }

        return buffer[..length];
    }

    private static bool AllSame(ReadOnlySpan<char> digits) => digits.IndexOfAnyExcept(digits[0]) < 0;

    private static Regex Email() => Patterns.Email;

    private static Regex Ssn() => Patterns.Ssn;

    private static Regex CardCandidate() => Patterns.CardCandidate;

    private static Regex IbanCandidate() => Patterns.IbanCandidate;

    private static Regex Phone() => Patterns.Phone;

    private static Regex IdentifierField() => Patterns.IdentifierField;

    private static Regex SensitiveIdMention() => Patterns.SensitiveIdMention;

    /// <summary>The patterns, built once on first use.</summary>
    private static class Patterns
    {
        internal static readonly Regex Email = RegexFactory.Create(@"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}\b", RegexOptions.CultureInvariant);

        internal static readonly Regex Ssn = RegexFactory.Create(@"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])", RegexOptions.CultureInvariant);

        internal static readonly Regex CardCandidate = RegexFactory.Create(@"(?<![\d])[3-6]\d{3}(?:[ -]?\d){9,15}(?![\d])", RegexOptions.CultureInvariant);

        internal static readonly Regex IbanCandidate = RegexFactory.CreateCompiled(@"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", RegexOptions.CultureInvariant);

        internal static readonly Regex Phone = RegexFactory.Create(@"(?<![\w-])(\+\d{1,3}[ .-]?)?(\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])|(?<![\w-])\+\d{1,3}(?:[ .-]?\d{2,4}){3,5}(?![\w-])|(?<![\w-])555[ .-]\d{4}(?![\w-])", RegexOptions.CultureInvariant);

        internal static readonly Regex IdentifierField = RegexFactory.Create(@"\b(DOB|D\.O\.B\.|date of birth|fecha de nacimiento|data de nascimento|date de naissance|geburtsdatum|MRN|patient id|medical record( number)?|prontuário|passport( number| no\.?| #)?|pasaporte|DL\s?#|driver'?s licen[cs]e( number)?|acct\s?#|account (number|no\.?|#)|routing number|tax id|national id|insurance (number|id)|member id|case (number|no\.?))\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        internal static readonly Regex SensitiveIdMention = RegexFactory.Create(@"\b(SSNs?|social security( number)?|credit card numbers?|PII|personally identifiable|bank[_ ]account|bank[_ ]routing|passwords? and MFA|sozialversicherungsnummer|steuer-?id|NHS number|national insurance number)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }
}
