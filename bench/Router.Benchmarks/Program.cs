using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Router.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
