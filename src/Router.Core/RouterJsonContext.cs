using System.Text.Json.Serialization;
using Router.Core.Chat;

namespace Router.Core;

/// <summary>Source-generated JSON metadata for the types the router writes on its hot path.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = false)]
[JsonSerializable(typeof(ErrorEnvelope))]
public sealed partial class RouterJsonContext : JsonSerializerContext;
