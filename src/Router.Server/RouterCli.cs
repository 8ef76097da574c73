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
    /// <summary>True when <paramref name="args"/> name a command rather than server options.</summary>
    public static bool IsCommand(string[] args) => args is ["keys", ..] or ["tenants", ..] or ["replay", ..];

    /// <summary>Runs a command; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Action<IConfigurationBuilder>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.ClearProviders();
        configure?.Invoke(builder.Configuration);
        if (args is ["replay", ..])
        {
            return await ReplayAsync(builder, args, output, error);
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

        var options = Options(args.Skip(2));
        var positional = args.Length > 2 && !args[2].StartsWith("--", StringComparison.Ordinal) ? args[2] : null;
        try
        {
            switch (args)
            {
                case ["keys", "create", ..]:
                {
                    var issuer = services.GetRequiredService<ApiKeyIssuer>();
                    var limits = new KeyLimits(Int(options, "rpm"), Int(options, "tpm"), Decimal(options, "daily-budget"), Decimal(options, "monthly-budget"));
                    var expires = options.TryGetValue("expires", out var e) ? DateTimeOffset.Parse(e, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : (DateTimeOffset?)null;
                    var (record, key, failure) = await issuer.IssueAsync(options.GetValueOrDefault("tenant"), options.GetValueOrDefault("name"), expires, limits, CancellationToken.None);
                    if (failure is not null)
                    {
                        await error.WriteLineAsync(failure.Message);
                        return 1;
                    }

                    await output.WriteLineAsync($"Created key {record!.Id} for tenant {record.TenantId}. It is shown only now; store it safely:");
                    await output.WriteLineAsync(key);
                    return 0;
                }

                case ["keys", "list", ..]:
                    await foreach (var key in services.GetRequiredService<IApiKeyStore>().ListAsync(options.GetValueOrDefault("tenant"), CancellationToken.None))
                    {
                        var state = key.RevokedAt is not null ? "revoked" : key.ExpiresAt <= TimeProvider.System.GetUtcNow() ? "expired" : "active";
                        await output.WriteLineAsync($"{key.Id}\t{key.TenantId}\t{key.Prefix}…\t{key.Name}\t{state}");
                    }

                    return 0;

                case ["keys", "revoke", _, ..]:
                    if (await services.GetRequiredService<ApiKeyIssuer>().RevokeAsync(positional!, CancellationToken.None) is null)
                    {
                        await error.WriteLineAsync($"No key with id '{positional}'.");
                        return 1;
                    }

                    await output.WriteLineAsync($"Revoked {positional}; it stops working everywhere within {ApiKeyAuthenticator.CacheDuration.TotalSeconds:0} s.");
                    return 0;

                case ["keys", "rotate", _, ..]:
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

                case ["tenants", "create", _, ..]:
                {
                    if (!ApiKeyIssuer.TenantIdPattern().IsMatch(positional!))
                    {
                        await error.WriteLineAsync("A tenant id has letters, digits, '_', '.' or '-', up to 64 characters.");
                        return 1;
                    }

                    var policy = TenantPolicy.Default(positional!) with
                    {
                        Registered = true,
                        Quality = options.TryGetValue("quality", out var q) ? double.Parse(q, CultureInfo.InvariantCulture) : null,
                        DailyBudgetUsd = Decimal(options, "daily-budget"),
                        MonthlyBudgetUsd = Decimal(options, "monthly-budget"),
                        PerCallFeeUsd = Decimal(options, "per-call-fee") ?? 0,
                        MarkupPercent = Decimal(options, "markup-percent") ?? 0,
                    };
                    await services.GetRequiredService<ITenantPolicyStore>().UpsertAsync(policy, CancellationToken.None);
                    await output.WriteLineAsync($"Tenant {positional} saved.");
                    return 0;
                }

                case ["tenants", "list", ..]:
                    await foreach (var tenant in services.GetRequiredService<ITenantPolicyStore>().ListAsync(CancellationToken.None))
                    {
                        await output.WriteLineAsync(tenant.TenantId);
                    }

                    return 0;

                default:
                    await error.WriteLineAsync(Usage);
                    return 1;
            }
        }
        catch (FormatException ex)
        {
            await error.WriteLineAsync("A value is not in the expected format: " + ex.Message);
            return 1;
        }
    }

    private static async Task<int> ReplayAsync(HostApplicationBuilder builder, string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length < 2 || args[1].StartsWith("--", StringComparison.Ordinal) || !File.Exists(args[1]))
        {
            await error.WriteLineAsync(args.Length < 2 ? Usage : $"No such file: {args[1]}");
            return 1;
        }

        var options = Options(args.Skip(2));
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
        builder.Services.AddSingleton<ReplayCache>();
        builder.Services.AddSingleton<WorkloadReplay>();
        using var host = builder.Build();
        var lines = await File.ReadAllLinesAsync(args[1]);
        var quality = options.TryGetValue("quality", out var q) ? double.Parse(q, CultureInfo.InvariantCulture) : (double?)null;
        var replay = host.Services.GetRequiredService<WorkloadReplay>();
        ReplayResult result = null!;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask($"Replaying {Path.GetFileName(args[1])}", maxValue: lines.Length);
                result = await replay.RunAsync(lines, options.GetValueOrDefault("tenant") ?? "replay", quality, catalogNote, line => task.Value = line, CancellationToken.None);
            });

        var path = options.GetValueOrDefault("out") ?? Path.ChangeExtension(args[1], ".report.html");
        await File.WriteAllTextAsync(path, WorkloadReplay.Report(result, Path.GetFileName(args[1])));
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
        Usage:
          replay <workload.jsonl> [--out report.html] [--tenant <id>] [--quality 0..1]
          keys create --tenant <id> [--name <label>] [--expires <date>] [--rpm N] [--tpm N] [--daily-budget USD] [--monthly-budget USD]
          keys list [--tenant <id>]
          keys revoke <key id>
          keys rotate <key id>
          tenants create <id> [--quality 0..1] [--daily-budget USD] [--monthly-budget USD] [--per-call-fee USD] [--markup-percent P]
          tenants list
        """;

    private static Dictionary<string, string> Options(IEnumerable<string> args)
    {
        var list = args.ToArray();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Length; i++)
        {
            if (list[i].StartsWith("--", StringComparison.Ordinal))
            {
                options[list[i][2..]] = i + 1 < list.Length && !list[i + 1].StartsWith("--", StringComparison.Ordinal) ? list[++i] : "true";
            }
        }

        return options;
    }

    private static int? Int(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : null;

    private static decimal? Decimal(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var v) ? decimal.Parse(v, CultureInfo.InvariantCulture) : null;
}
