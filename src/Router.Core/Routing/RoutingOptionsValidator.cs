using Microsoft.Extensions.Options;

namespace Router.Core.Routing;

/// <summary>Validates a configured routing table at start, reporting every problem.</summary>
internal sealed class RoutingOptionsValidator : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions options)
    {
        if (options.Table.Count == 0)
        {
            return ValidateOptionsResult.Success;
        }

        var errors = RoutingTable.Validate(options.Table, RoutingOptions.Section + ":Table");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
