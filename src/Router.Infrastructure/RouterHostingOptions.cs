namespace Router.Infrastructure;

/// <summary>What a host runs in the background itself.</summary>
public sealed class RouterHostingOptions
{
    /// <summary>Run the audit queue worker and the weights timer in-process (the self-hosted server); the Functions
    /// app leaves this off and uses its queue and timer triggers.</summary>
    public bool RunBackgroundWork { get; set; }
}
