using Microsoft.Extensions.Configuration;
using Router.Server;

namespace Router.Integration.Tests.Server;

/// <summary>
/// The server's shipped <c>appsettings.json</c> applies wherever the process starts: ASP.NET Core looks for it in the
/// content root (the working directory), so a server started from another directory lost the shipped log levels.
/// </summary>
public sealed class ShippedSettingsTests : IDisposable
{
    private const string HostingDiagnostics = "Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics";

    private readonly string _elsewhere = Directory.CreateTempSubdirectory("router-cwd-").FullName;

    public void Dispose() => Directory.Delete(_elsewhere, recursive: true);

    [Fact]
    public async Task A_server_started_from_another_directory_reads_the_settings_shipped_beside_it()
    {
        await using var app = RouterServer.Build(["--urls", "http://127.0.0.1:0", "--contentRoot", _elsewhere]);

        Assert.Equal(_elsewhere, app.Environment.ContentRootPath.TrimEnd(Path.DirectorySeparatorChar));
        Assert.Equal("None", app.Configuration[HostingDiagnostics]);
        Assert.Equal("Warning", app.Configuration["Logging:LogLevel:System.Net.Http.HttpClient"]);
    }

    [Fact]
    public async Task Settings_in_the_working_directory_the_environment_and_the_command_line_still_win()
    {
        await File.WriteAllTextAsync(Path.Combine(_elsewhere, "appsettings.json"),
            """{ "Logging": { "LogLevel": { "Microsoft.AspNetCore.Hosting.Diagnostics": "Warning" } } }""");

        await using var fromFile = RouterServer.Build(["--urls", "http://127.0.0.1:0", "--contentRoot", _elsewhere]);
        await using var fromArgs = RouterServer.Build(["--urls", "http://127.0.0.1:0", "--contentRoot", _elsewhere,
            "--Logging:LogLevel:System.Net.Http.HttpClient=Error"]);

        Assert.Equal("Warning", fromFile.Configuration[HostingDiagnostics]);
        Assert.Equal("Warning", fromFile.Configuration["Logging:LogLevel:System.Net.Http.HttpClient"]);
        Assert.Equal("Error", fromArgs.Configuration["Logging:LogLevel:System.Net.Http.HttpClient"]);
    }
}
