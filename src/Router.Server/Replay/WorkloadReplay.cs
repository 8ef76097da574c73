using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Pipeline;

namespace Router.Server.Replay;

/// <summary>One replayed row.</summary>
/// <param name="Line">1-based line number.</param>
/// <param name="Task">Task type.</param>
/// <param name="Tier">Chosen tier.</param>
/// <param name="Model">Chosen model.</param>
/// <param name="Cache">miss, exact, semantic, or bypass (the cache may not serve it: high risk, tools, …).</param>
/// <param name="CostUsd">Projected cost (0 on a cache hit).</param>
/// <param name="BaselineUsd">Projected cost on the baseline premium model.</param>
public sealed record ReplayedRow(int Line, string Task, string Tier, string Model, string Cache, decimal CostUsd, decimal BaselineUsd);

/// <summary>What a replay found.</summary>
/// <param name="Rows">Rows routed.</param>
/// <param name="Errors">Rows skipped, with line numbers and reasons.</param>
/// <param name="CatalogNote">Which catalog priced the rows.</param>
public sealed record ReplayResult(IReadOnlyList<ReplayedRow> Rows, IReadOnlyList<(int Line, string Error)> Errors, string CatalogNote)
{
    /// <summary>Projected routed cost.</summary>
    public decimal CostUsd => Rows.Sum(r => r.CostUsd);

    /// <summary>Projected cost if every row went to the baseline premium model.</summary>
    public decimal BaselineUsd => Rows.Sum(r => r.BaselineUsd);
}

/// <summary>Runs a workload (OpenAI batch-input JSONL, or rows of <c>{"messages": …}</c>) through analysis, the cache
/// and routing without calling any model, and projects what it would cost against all-premium.</summary>
public sealed class WorkloadReplay(ChatPipeline pipeline, TimeProvider time)
{
    /// <summary>Replays <paramref name="lines"/>; <paramref name="progress"/> is told after each line.</summary>
    public async Task<ReplayResult> RunAsync(IReadOnlyList<string> lines, string tenant, double? quality, string catalogNote, Action<int>? progress, CancellationToken cancellationToken)
    {
        var rows = new List<ReplayedRow>();
        var errors = new List<(int, string)>();
        for (var i = 0; i < lines.Count; i++)
        {
            var line = i + 1;
            progress?.Invoke(line);
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            if (!TryBody(lines[i], quality, out var body, out var problem))
            {
                errors.Add((line, problem));
                continue;
            }

            if (!ChatRequestParser.TryParse(body, out var request, out var parseError))
            {
                errors.Add((line, parseError.Message));
                continue;
            }

            var context = new RequestContext { RequestId = $"replay-{line}", TenantId = tenant, ReceivedAt = time.GetUtcNow() };
            var (prepared, error) = await pipeline.PrepareAsync(context, request, cancellationToken);
            if (prepared is null)
            {
                errors.Add((line, error!.Message));
                continue;
            }

            var (profile, decision, _, _) = prepared;
            // The router's own exact and semantic cache, in memory for this run: a row that repeats or paraphrases an
            // earlier one is a hit, as it would be in service.
            var (status, _) = await pipeline.SimulateCacheAsync(context, request, prepared, cancellationToken);
            var cost = status is "exact" or "semantic" ? 0 : decision.EstimatedCostUsd;
            rows.Add(new ReplayedRow(line, profile.Task.Type.ToWireName(), decision.Tier.ToWire(), decision.Model.Id, status, cost, decision.BaselineCostUsd));
        }

        return new ReplayResult(rows, errors, catalogNote);
    }

    // Accepts an OpenAI batch line ({"body": {...}}) or a bare request ({"messages": [...]}); "model" defaults to auto.
    private static bool TryBody(string line, double? quality, out byte[] body, out string problem)
    {
        body = [];
        problem = "";
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line);
        }
        catch (JsonException ex)
        {
            problem = "not valid JSON: " + ex.Message;
            return false;
        }

        if (node is not JsonObject row)
        {
            problem = "a row must be a JSON object";
            return false;
        }

        var request = row["body"] as JsonObject ?? row;
        if (request["messages"] is not JsonArray)
        {
            problem = "no 'messages' array (expected an OpenAI batch row with 'body', or a row with 'messages')";
            return false;
        }

        var copy = (JsonObject)request.DeepClone();
        copy["model"] ??= "auto";
        if (quality is { } q)
        {
            copy["router"] = new JsonObject { ["quality"] = q };
        }

        body = Encoding.UTF8.GetBytes(copy.ToJsonString());
        return true;
    }

    /// <summary>The HTML report: projected cost against all-premium, tier mix, cache hit rate, top tasks, skipped rows.</summary>
    public static string Report(ReplayResult result, string source)
    {
        static string Usd(decimal value) => value.ToString("0.####", CultureInfo.InvariantCulture);
        static string Html(string text) => System.Net.WebUtility.HtmlEncode(text);
        var rows = result.Rows;
        var saving = result.BaselineUsd == 0 ? 0 : 100 * (result.BaselineUsd - result.CostUsd) / result.BaselineUsd;
        var tiers = rows.GroupBy(r => r.Tier).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, (double)g.Count())).ToArray();
        var tasks = rows.GroupBy(r => r.Task).OrderByDescending(g => g.Count()).Take(8).Select(g => (g.Key, (double)g.Count())).ToArray();
        var hits = rows.Count(r => r.Cache is "exact" or "semantic");
        var html = new StringBuilder();
        var head = $$"""
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Router replay: {{Html(source)}}</title>
            <style>body{font:14px system-ui,sans-serif;margin:2rem;color:#1d2433}h1{font-size:1.4rem}table{border-collapse:collapse}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}.kpi{display:inline-block;margin-right:2rem}.kpi b{display:block;font-size:1.6rem}</style></head><body>
            <h1>Replay of {{Html(source)}}</h1>
            <p>{{rows.Count}} requests routed, {{result.Errors.Count}} skipped. No model was called. {{Html(result.CatalogNote)}}</p>
            <div class="kpi">Projected cost<b>${{Usd(result.CostUsd)}}</b></div>
            <div class="kpi">All-premium cost<b>${{Usd(result.BaselineUsd)}}</b></div>
            <div class="kpi">Saving<b>{{saving.ToString("0.0", CultureInfo.InvariantCulture)}}%</b></div>
            <div class="kpi">Cache hit rate<b>{{(rows.Count == 0 ? 0 : 100.0 * hits / rows.Count).ToString("0.0", CultureInfo.InvariantCulture)}}%</b></div>
            <h2>Cost against all-premium</h2>{{Bars([("routed", (double)result.CostUsd), ("all premium", (double)result.BaselineUsd)], "$")}}
            <h2>Tier mix</h2>{{Bars(tiers, "")}}
            <h2>Top tasks</h2>{{Bars(tasks, "")}}
            """;
        html.Append(head);
        if (result.Errors.Count > 0)
        {
            html.Append("<h2>Skipped rows</h2><table><tr><th>line</th><th>problem</th></tr>");
            foreach (var (line, error) in result.Errors)
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr><td>{line}</td><td>{Html(error)}</td></tr>");
            }

            html.Append("</table>");
        }

        html.Append("</body></html>");
        return html.ToString();
    }

    // A horizontal bar chart as inline SVG (no scripts, no external assets).
    private static string Bars((string Label, double Value)[] bars, string unit)
    {
        var max = Math.Max(bars.Length == 0 ? 0 : bars.Max(b => b.Value), 1e-12);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg role=\"img\" width=\"640\" height=\"{bars.Length * 28 + 8}\" xmlns=\"http://www.w3.org/2000/svg\">");
        for (var i = 0; i < bars.Length; i++)
        {
            var width = 420 * bars[i].Value / max;
            var value = unit == "$" ? "$" + bars[i].Value.ToString("0.####", CultureInfo.InvariantCulture) : bars[i].Value.ToString("0", CultureInfo.InvariantCulture);
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"{i * 28 + 20}\">{System.Net.WebUtility.HtmlEncode(bars[i].Label)}</text><rect x=\"130\" y=\"{i * 28 + 6}\" width=\"{width:0.#}\" height=\"20\" fill=\"#3b6fd8\"/><text x=\"{136 + width:0.#}\" y=\"{i * 28 + 20}\">{value}</text>");
        }

        return svg.Append("</svg>").ToString();
    }
}

