using System.Globalization;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Metering;
using Router.Server.Replay;
using Spectre.Console;
using Router.Infrastructure.Storage;

namespace Router.Server;

/// <summary>Operator commands that work on the configured stores without starting the server:
/// <c>keys create|list|revoke|rotate</c> and <c>tenants create|list</c>. A new key is printed once, never again.</summary>
public static class RouterCli
{
    // Each command and the options it takes; anything else is refused before storage is touched.
    private static readonly Dictionary<string, string[]> Commands = new(StringComparer.Ordinal)
    {
        ["replay"] = ["out", "tenant", "quality"],
        ["keys create"] = ["tenant", "name", "expires", "rpm", "tpm", "daily-budget", "monthly-budget"],
        ["keys list"] = ["tenant"],
        ["keys revoke"] = [],
        ["keys rotate"] = [],
        ["tenants create"] = ["quality", "daily-budget", "monthly-budget", "per-call-fee", "markup-percent"],
        ["tenants list"] = [],
    };

    /// <summary>True when <paramref name="args"/> name a command (or ask for help) rather than server options.</summary>
    public static bool IsCommand(string[] args) => args is ["keys", ..] or ["tenants", ..] or ["replay", ..] or ["help" or "--help" or "-h", ..];

    /// <summary>Runs a command; returns the process exit code (0 done, 1 refused or failed, 2 no storage).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Action<IConfigurationBuilder>? configure = null)
    {
        if (args is ["help" or "--help" or "-h", ..] || args.Contains("--help") || args.Contains("-h"))
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }

        var command = args is ["replay", ..] ? "replay" : string.Join(' ', args.Take(2));
        if (!Commands.TryGetValue(command, out var known))
        {
            await error.WriteLineAsync(Usage);
            return 1;
        }

        var (options, positional, unknown) = Parse(args.Skip(command == "replay" ? 1 : 2));
        var takesPositional = command is "replay" or "keys revoke" or "keys rotate" or "tenants create";
        if (!takesPositional && positional is not null)
        {
            unknown.Insert(0, $"'{positional}'");
        }

        unknown.AddRange(options.Keys.Where(name => !known.Contains(name)).Select(name => "--" + name));
        if (unknown.Count > 0)
        {
            await error.WriteLineAsync($"'{command}' does not take {string.Join(", ", unknown)}; it takes {(known.Length == 0 ? "no options" : string.Join(", ", known.Select(k => "--" + k)))}.\n{Usage}");
            return 1;
        }

        if (takesPositional && positional is null)
        {
            await error.WriteLineAsync($"'{command}' needs {(command == "replay" ? "a workload file" : command == "tenants create" ? "a tenant id" : "a key id")}.\n{Usage}");
            return 1;
        }

        try
        {
            return await RunAsync(command, options, positional, output, error, configure);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // An operator command reports what went wrong in a line, never a stack trace.
            var message = ex is AggregateException { InnerException: { } inner } ? inner.Message : ex.Message;
            await error.WriteLineAsync(ex is FormatException or OverflowException
                ? $"A value is not in the expected format or range: {message}"
                : $"'{command}' failed: {message}");
            return 1;
        }
    }

    private static async Task<int> RunAsync(
        string command, Dictionary<string, string> options, string? positional, TextWriter output, TextWriter error, Action<IConfigurationBuilder>? configure)
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.ClearProviders();
        configure?.Invoke(builder.Configuration);
        if (command == "replay")
        {
            return await ReplayAsync(builder, positional!, options, output, error);
        }

        builder.Services.AddRouterInfrastructure();
        using var host = builder.Build();
        var services = host.Services;

        if (!services.GetRequiredService<IOptions<StorageOptions>>().Value.UsesTables)
        {
            await error.WriteLineAsync(
                "No storage is configured (Router__Storage__ConnectionString or Router__Storage__TableServiceUri), so keys and tenants "
                + "created here would vanish when this command exits. Configure storage, or use the admin API of a running server.");
            return 2;
        }

        switch (command)
        {
            case "keys create":
            {
                var issuer = services.GetRequiredService<ApiKeyIssuer>();
                var limits = new KeyLimits(Int(options, "rpm"), Int(options, "tpm"), Decimal(options, "daily-budget"), Decimal(options, "monthly-budget"));
                var expires = options.TryGetValue("expires", out var e) ? DateTimeOffset.Parse(e, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : (DateTimeOffset?)null;
                var (record, key, failure) = await issuer.IssueAsync(options.GetValueOrDefault("tenant"), options.GetValueOrDefault("name"), expires, limits, CancellationToken.None);
                if (failure is not null)
                {
                    await error.WriteLineAsync(failure.Message.Replace("create it with POST /admin/tenants", "create it with 'tenants create <id>' or POST /admin/tenants", StringComparison.Ordinal));
                    return 1;
                }

                await output.WriteLineAsync($"Created key {record!.Id} for tenant {record.TenantId}. It is shown only now; store it safely:");
                await output.WriteLineAsync(key);
                return 0;
            }

            case "keys list":
                await foreach (var key in services.GetRequiredService<IApiKeyStore>().ListAsync(options.GetValueOrDefault("tenant"), CancellationToken.None))
                {
                    var state = key.RevokedAt is not null ? "revoked" : key.ExpiresAt <= TimeProvider.System.GetUtcNow() ? "expired" : "active";
                    var expires = key.ExpiresAt is { } at ? "expires " + at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture) : "no expiry";
                    await output.WriteLineAsync($"{key.Id}\t{key.TenantId}\t{key.Prefix}…\t{key.Name}\t{state}\t{expires}\t{Describe(key.Limits)}");
                }

                return 0;

            case "keys revoke":
                if (await services.GetRequiredService<ApiKeyIssuer>().RevokeAsync(positional!, CancellationToken.None) is null)
                {
                    await error.WriteLineAsync($"No key with id '{positional}'.");
                    return 1;
                }

                await output.WriteLineAsync($"Revoked {positional}; it stops working everywhere within {ApiKeyAuthenticator.CacheDuration.TotalSeconds:0} s.");
                return 0;

            case "keys rotate":
            {
                var (record, key, failure) = await services.GetRequiredService<ApiKeyIssuer>().RotateAsync(positional!, CancellationToken.None);
                if (failure is not null)
                {
                    await error.WriteLineAsync(failure.Message);
                    return 1;
                }

                await output.WriteLineAsync($"Replaced {positional} with {record!.Id}; the old key is revoked. The new key is shown only now:");
                await output.WriteLineAsync(key);
                return 0;
            }

            case "tenants create":
            {
                if (!ApiKeyIssuer.TenantIdPattern().IsMatch(positional!))
                {
                    await error.WriteLineAsync("A tenant id has letters, digits, '_', '.' or '-', up to 64 characters.");
                    return 1;
                }

                var policy = TenantPolicy.Default(positional!) with
                {
                    Registered = true,
                    Quality = Double(options, "quality"),
                    DailyBudgetUsd = Decimal(options, "daily-budget"),
                    MonthlyBudgetUsd = Decimal(options, "monthly-budget"),
                    PerCallFeeUsd = Decimal(options, "per-call-fee") ?? 0,
                    MarkupPercent = Decimal(options, "markup-percent") ?? 0,
                };
                // The same range checks as configuration and the admin API, worded with this command's option names.
                var problems = TenantSettingsRules.Check(policy.Quality, policy.PerCallFeeUsd, policy.MarkupPercent, policy.DailyBudgetUsd,
                        policy.MonthlyBudgetUsd, policy.RequestsPerMinute, policy.TokensPerMinute, policy.SessionSpendCapUsd)
                    .Select(problem => problem.Split(':', 2) is [var setting, var rule]
                        ? $"--{CliOptionOf(setting)}{rule.TrimEnd('.')}"
                        : problem)
                    .ToList();
                if (problems.Count > 0)
                {
                    await error.WriteLineAsync($"Tenant {positional} not created: {string.Join("; ", problems)}.");
                    return 1;
                }

                if (!await services.GetRequiredService<ITenantPolicyStore>().CreateAsync(policy, CancellationToken.None))
                {
                    // Like POST /admin/tenants: creating must never overwrite a tenant's settings and rules.
                    await error.WriteLineAsync($"Tenant {positional} already exists; change its settings with PUT /admin/tenants/{positional}.");
                    return 1;
                }

                await output.WriteLineAsync($"Tenant {positional} created.");
                return 0;
            }

            default: // "tenants list"
                await foreach (var tenant in services.GetRequiredService<ITenantPolicyStore>().ListAsync(CancellationToken.None))
                {
                    await output.WriteLineAsync(tenant.TenantId);
                }

                return 0;
        }
    }

    private static async Task<int> ReplayAsync(HostApplicationBuilder builder, string file, Dictionary<string, string> options, TextWriter output, TextWriter error)
    {
        if (!File.Exists(file))
        {
            await error.WriteLineAsync($"No such file: {file}");
            return 1;
        }

        var quality = Double(options, "quality");
        if (quality is < 0 or > 1)
        {
            await error.WriteLineAsync("--quality must be between 0 and 1.");
            return 1;
        }

        var path = options.GetValueOrDefault("out") ?? Path.ChangeExtension(file, ".report.html");
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } directory && !Directory.Exists(directory))
        {
            await error.WriteLineAsync($"The report's folder does not exist: {directory}");
            return 1;
        }

        var catalogNote = "Priced with the configured catalog.";
        var probe = new RouterOptions();
        builder.Configuration.GetSection(RouterOptions.Section).Bind(probe);
        if (new ModelCatalog(probe).IsEmpty)
        {
            // Nothing is called, so the default catalog's OpenAI models can price the workload without a key.
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Router:Providers:openai:Endpoint"] = "https://api.openai.com/v1" });
            catalogNote = "No provider is configured, so the default catalog's OpenAI models (list prices, see README) price it.";
        }

        builder.Services.AddRouterInfrastructure();
        builder.Services.AddSingleton<WorkloadReplay>();
        using var host = builder.Build();
        var lines = await File.ReadAllLinesAsync(file);
        var replay = host.Services.GetRequiredService<WorkloadReplay>();
        ReplayResult result = null!;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask($"Replaying {Path.GetFileName(file)}", maxValue: lines.Length);
                result = await replay.RunAsync(lines, options.GetValueOrDefault("tenant") ?? "replay", quality, catalogNote, line => task.Value = line, CancellationToken.None);
            });

        await File.WriteAllTextAsync(path, WorkloadReplay.Report(result, Path.GetFileName(file)));
        foreach (var (line, problem) in result.Errors)
        {
            await error.WriteLineAsync($"line {line}: skipped: {problem}");
        }

        var saving = result.BaselineUsd == 0 ? 0 : 100 * (result.BaselineUsd - result.CostUsd) / result.BaselineUsd;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{result.Rows.Count} requests routed, {result.Errors.Count} skipped: projected ${result.CostUsd:0.####} against ${result.BaselineUsd:0.####} all-premium ({saving:0.0}% saved). Report: {path}"));
        return 0;
    }

    private const string Usage = """
        Usage (storage from Router__Storage__ConnectionString or --Router:Storage:ConnectionString=…):
          replay <workload.jsonl> [--out report.html] [--tenant <id>] [--quality 0..1]
          keys create --tenant <id> [--name <label>] [--expires <date>] [--rpm N] [--tpm N] [--daily-budget USD] [--monthly-budget USD]
          keys list [--tenant <id>]
          keys revoke <key id>
          keys rotate <key id>
          tenants create <id> [--quality 0..1] [--daily-budget USD] [--monthly-budget USD] [--per-call-fee USD] [--markup-percent P]
          tenants list
        """;

    private static string CliOptionOf(string setting) => setting switch
    {
        "Quality" => "quality",
        "DailyBudgetUsd" => "daily-budget",
        "MonthlyBudgetUsd" => "monthly-budget",
        "PerCallFeeUsd" => "per-call-fee",
        "MarkupPercent" => "markup-percent",
        _ => setting,
    };

    // Options ("--name value", or "--flag"), the first positional argument, and any further positionals (refused).
    // "--Router:…=value" arguments are configuration, read by the host builder, not options.
    private static (Dictionary<string, string> Options, string? Positional, List<string> Unknown) Parse(IEnumerable<string> args)
    {
        var list = args.Where(a => !a.StartsWith("--Router", StringComparison.Ordinal)).ToArray();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        string? positional = null;
        var unknown = new List<string>();
        for (var i = 0; i < list.Length; i++)
        {
            if (list[i].StartsWith("--", StringComparison.Ordinal))
            {
                options[list[i][2..]] = i + 1 < list.Length && !list[i + 1].StartsWith("--", StringComparison.Ordinal) ? list[++i] : "true";
            }
            else if (positional is null)
            {
                positional = list[i];
            }
            else
            {
                unknown.Add($"'{list[i]}'");
            }
        }

        return (options, positional, unknown);
    }

    private static double? Double(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var v) ? double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture) is var d && double.IsFinite(d) ? d : throw new FormatException($"--{name} {v} is not a finite number.") : null;

    /// <summary>A key's limits as <c>rpm=60 tpm=… daily=$5 monthly=$…</c>, or "no limits".</summary>
    private static string Describe(KeyLimits limits)
    {
        var parts = new List<string>(4);
        if (limits.RequestsPerMinute is { } rpm)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"rpm={rpm}"));
        }

        if (limits.TokensPerMinute is { } tpm)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"tpm={tpm}"));
        }

        if (limits.DailyBudgetUsd is { } daily)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"daily=${daily}"));
        }

        if (limits.MonthlyBudgetUsd is { } monthly)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"monthly=${monthly}"));
        }

        return parts.Count == 0 ? "no limits" : string.Join(' ', parts);
    }

    private static int? Int(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : null;

    private static decimal? Decimal(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var v) ? decimal.Parse(v, CultureInfo.InvariantCulture) : null;
}
