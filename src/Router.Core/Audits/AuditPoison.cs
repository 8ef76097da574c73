namespace Router.Core.Audits;

/// <summary>What the poison queue holds: its name, an approximate count and the oldest few jobs.</summary>
public sealed record AuditPoisonSummary(string Queue, bool Durable, long ApproximateCount, IReadOnlyList<PoisonedAudit> Oldest);

/// <summary>One poisoned job, without its text: the queue's message id, the audited request (when the message can be
/// read) and when it was poisoned.</summary>
public sealed record PoisonedAudit(string Id, string? RequestId, DateTimeOffset? PoisonedAt);

/// <summary>The outcome of a redrive: jobs put back on the audit queue, jobs dropped because they can never run (their
/// offloaded payload has expired), and the approximate number still poisoned.</summary>
public sealed record AuditRedriveResult(int Redriven, int Discarded, long Remaining);
