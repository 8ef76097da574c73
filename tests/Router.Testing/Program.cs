using System.Globalization;
using System.Runtime.InteropServices;
using Router.Testing.Simulator;

// Runs the simulated provider from the command line:
//   dotnet run --project tests/Router.Testing -- --port 9100 [--latency-ms 0] [--chunk-delay-ms 0] [--failure-rate 0]
var port = 9100;
double latencyMs = 0, chunkDelayMs = 0, failureRate = 0;
for (var i = 0; i < args.Length - 1; i++)
{
    var value = args[i + 1];
    switch (args[i])
    {
        case "--port": port = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--latency-ms": latencyMs = double.Parse(value, CultureInfo.InvariantCulture); break;
        case "--chunk-delay-ms": chunkDelayMs = double.Parse(value, CultureInfo.InvariantCulture); break;
        case "--failure-rate": failureRate = double.Parse(value, CultureInfo.InvariantCulture); break;
    }
}

await using var simulator = await SimulatedProvider.StartAsync(port);
simulator.RecordRequests = false;
simulator.DefaultBehavior.Latency = TimeSpan.FromMilliseconds(latencyMs);
simulator.DefaultBehavior.ChunkDelay = TimeSpan.FromMilliseconds(chunkDelayMs);
simulator.DefaultBehavior.FailureRate = failureRate;
Console.WriteLine($"Simulated OpenAI-compatible provider on {simulator.BaseUrl} (any model name works). Ctrl+C stops it.");
var stop = new TaskCompletionSource();
// SIGINT (Ctrl+C) and SIGTERM (kill, a harness tearing down) both stop the server cleanly.
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.TrySetResult(); });
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.TrySetResult(); });
await stop.Task;
