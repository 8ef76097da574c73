using Microsoft.Playwright;

namespace Router.Integration.Tests.Dashboard;

/// <summary>Headless Chromium from the machine's own package (Debian <c>chromium</c>), driven by Playwright's bundled
/// driver. Playwright never downloads a browser here: the tests fail with the install command instead.</summary>
public static class SystemChromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private static readonly string[] Args =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    public static async Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        if (!File.Exists(ExecutablePath))
        {
            Assert.Fail($"Chromium is not installed at {ExecutablePath}; the dashboard tests need it. Run `apt-get install -y chromium` (CI's .ci/run installs it).");
        }

        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = Args,
            Timeout = 60_000,
        });
    }
}
