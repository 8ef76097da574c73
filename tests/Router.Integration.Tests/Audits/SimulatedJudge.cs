using Router.Testing.Simulator;

namespace Router.Integration.Tests.Audits;

/// <summary>Responders that make the simulator a reference model and judge: a judge prompt (with "[Answer A]" and
/// "[Answer B]") is answered with JSON preferring the answer that does not say BAD ANSWER.</summary>
public static class SimulatedJudge
{
    public static string Respond(SimulatedChat chat)
    {
        var text = chat.LastUserMessage;
        var a = text.IndexOf("[Answer A]", StringComparison.Ordinal);
        var b = text.IndexOf("[Answer B]", StringComparison.Ordinal);
        if (a < 0 || b < 0)
        {
            return SimulatedProvider.DefaultAnswer(chat.Model, text);
        }

        var answerA = text[a..b];
        var answerB = text[b..];
        var badA = answerA.Contains("BAD ANSWER", StringComparison.Ordinal);
        var badB = answerB.Contains("BAD ANSWER", StringComparison.Ordinal);
        return (badA, badB) switch
        {
            (true, false) => """{"better":"B","score_a":2,"score_b":9}""",
            (false, true) => """{"better":"A","score_a":9,"score_b":2}""",
            _ => """{"better":"tie","score_a":8,"score_b":8}""",
        };
    }
}
