using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Router.Testing.Azurite;

/// <summary>A running Azurite (Blobs, Queues, Tables) for tests. Uses the instance named by
/// <c>ROUTER_TEST_STORAGE</c> (a connection string) when set, otherwise starts one from <c>node_modules</c> on free
/// loopback ports with in-memory persistence and stops it on dispose.</summary>
public sealed class AzuriteInstance : IAsyncDisposable
{
    /// <summary>Environment variable with the connection string of an Azurite that is already running.</summary>
    public const string ConnectionStringVariable = "ROUTER_TEST_STORAGE";

    // Azurite's documented development account; not a secret.
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process? _process;

    private AzuriteInstance(string connectionString, Process? process)
    {
        ConnectionString = connectionString;
        _process = process;
    }

    /// <summary>Connection string for the Azure Storage SDKs.</summary>
    public string ConnectionString { get; }

    /// <summary>Connects to <c>ROUTER_TEST_STORAGE</c> or starts a private Azurite.</summary>
    public static async Task<AzuriteInstance> StartAsync(CancellationToken cancellationToken = default)
    {
        if (Environment.GetEnvironmentVariable(ConnectionStringVariable) is { Length: > 0 } existing)
        {
            return new AzuriteInstance(existing, null);
        }

        var executable = FindExecutable()
            ?? throw new InvalidOperationException(
                "Azurite was not found. Run 'npm ci' at the repository root (it installs Azurite into node_modules), "
                + $"or set {ConnectionStringVariable} to the connection string of a running Azurite.");
        int blob = FreePort(), queue = FreePort(), table = FreePort();
        var start = new ProcessStartInfo(executable)
        {
            ArgumentList =
            {
                "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent", "--loose",
                "--blobHost", "127.0.0.1", "--blobPort", blob.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--queueHost", "127.0.0.1", "--queuePort", queue.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--tableHost", "127.0.0.1", "--tablePort", table.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("Azurite did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var instance = new AzuriteInstance(ConnectionStringFor(blob, queue, table), process);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        foreach (var port in new[] { blob, queue, table })
        {
            await WaitForPortAsync(port, process, timeout.Token);
        }

        return instance;
    }

    /// <summary>The connection string of an Azurite listening on the given ports.</summary>
    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + DevAccountKey
        + $";BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1"
        + $";QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1"
        + $";TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;";

    private static string? FindExecutable()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "node_modules", ".bin", "azurite");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port, Process process, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {process.ExitCode} while starting.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
    }
}
