using System.Text.Json.Serialization;
using Router.Http.Admin;
using Router.Http.Catalog;
using Router.Http.Dashboard;
using Router.Http.Metering;
using Router.Http.Routing;

namespace Router.Http;

/// <summary>Source-generated JSON metadata for the HTTP surface.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelEntry))]
[JsonSerializable(typeof(RoutePreview))]
[JsonSerializable(typeof(TenantDocument))]
[JsonSerializable(typeof(TenantList))]
[JsonSerializable(typeof(KeyDocument))]
[JsonSerializable(typeof(KeyList))]
[JsonSerializable(typeof(UsageDocument))]
[JsonSerializable(typeof(DashboardData))]
[JsonSerializable(typeof(AuditPoisonDocument))]
[JsonSerializable(typeof(AuditRedriveDocument))]
internal sealed partial class RouterHttpJsonContext : JsonSerializerContext;
