using Microsoft.Extensions.Options;
using Router.Server;

if (RouterCli.IsCommand(args))
{
    return await RouterCli.RunAsync(args, Console.Out, Console.Error, config => config.AddEnvironmentVariables().AddCommandLine(args.Where(a => a.StartsWith("--Router", StringComparison.Ordinal)).ToArray()));
}

var app = RouterServer.Build(args);
try
{
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    // A bad configuration stops the server at start, naming every setting at fault.
    await Console.Error.WriteLineAsync("The router's configuration is invalid:\n  " + string.Join("\n  ", ex.Failures));
    return 1;
}
