using System.Text.Json.Serialization;
using Router.Http.Catalog;

namespace Router.Http;

/// <summary>Source-generated JSON metadata for the HTTP surface.</summary>
[JsonSerializable(typeof(ModelList))]
internal sealed partial class RouterHttpJsonContext : JsonSerializerContext;
