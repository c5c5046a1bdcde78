using Agentic.Testing;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>
/// The real host and fleet on their own hub, and one headless Chromium for the test class: Debian's chromium at
/// <see cref="ChromiumPath"/> (installed by <c>./agentic test</c>), driven by Playwright's driver from its NuGet package,
/// never a browser Playwright downloads. Each test signs in on a context of its own, so sessions never mix.
/// </summary>
public class DashboardHost(AzuriteFixture storage) : IAsyncLifetime
{
    /// <summary>Where the browser is; <c>./agentic test</c> installs it there when it is missing.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private SampleFleet? _fleet;
    private AgenticHost? _host;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>The host, a dev deployment whose runs may target the fleet.</summary>
    public AgenticHost Host => _host ?? throw new InvalidOperationException("Not started.");

    /// <summary>The fleet the runs target.</summary>
    public SampleFleet Fleet => _fleet ?? throw new InvalidOperationException("Not started.");

    /// <summary>A client of the host's API, for checking what the page did.</summary>
    public AgenticClient Api { get; private set; } = null!;

    /// <summary>The storage the host listens to (its <c>agent-runs</c> queue included).</summary>
    public string StorageConnectionString => storage.Azurite.ConnectionString;

    /// <summary>The screenshots of the browser tests, kept with the test results (named in the README).</summary>
    public static string Screenshots { get; } = Path.Combine(Repo.Root, ".artifacts", "test-results", "dashboard");

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: ./agentic test installs it (apt-get install chromium).");
        Directory.CreateDirectory(Screenshots);
        _fleet = await SampleFleet.StartAsync();
        _host = new AgenticHost(storage.Azurite.ConnectionString, Hubs.New("dash"), await SettingsAsync(_fleet), _fleet);
        await Host.StartAsync();
        Api = new AgenticClient(Host.BaseUri);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumPath, Headless = true });
    }

    /// <summary>The host's settings beyond the fleet's target rules (none: the shipped agents, no monitor on).</summary>
    protected virtual Task<IReadOnlyDictionary<string, string?>?> SettingsAsync(SampleFleet fleet) => Task.FromResult<IReadOnlyDictionary<string, string?>?>(null);

    /// <summary>A fresh browser context (its own sessionStorage) on the host, with the sign-in page open.</summary>
    public async Task<IPage> OpenAsync()
    {
        var context = await _browser!.NewContextAsync(new()
        {
            BaseURL = Host.BaseUri.ToString(),
            ViewportSize = new() { Width = 1280, Height = 900 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        return page;
    }

    /// <summary>Opens the dashboard and signs in with <paramref name="caller"/>'s key, as a person types it.</summary>
    public async Task<IPage> SignInAsync(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var page = await OpenAsync();
        await page.GetByLabel("Key or token").FillAsync(TestIdentities.Key(caller.Principal!, caller.Roles));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Main" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#whoami")).ToContainTextAsync(caller.Principal!);
        return page;
    }

    /// <summary>Saves a full-page screenshot as <c>{name}.png</c> under <see cref="Screenshots"/>.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        ArgumentNullException.ThrowIfNull(page);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });
    }

    /// <summary>
    /// Saves a screenshot of <paramref name="page"/> as <c>a11y-{name}.png</c> and answers its serious and critical
    /// accessibility violations as axe reports them, each with the elements it names.
    /// </summary>
    public static async Task<IReadOnlyList<string>> AccessibilityViolationsAsync(IPage page, string name)
    {
        ArgumentNullException.ThrowIfNull(page);
        await ScreenshotAsync(page, "a11y-" + name);
        var result = await page.RunAxe();
        return [.. result.Violations
            .Where(v => v.Impact is "serious" or "critical")
            .Select(v => $"{name}: {v.Impact} {v.Id} ({v.Help}) at {string.Join("; ", v.Nodes.Select(n => n.Target?.ToString()))}")];
    }

    /// <inheritdoc />
    public virtual async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
        _playwright?.Dispose();
        Api?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
        }
        GC.SuppressFinalize(this);
    }
}
