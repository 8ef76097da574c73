using System.Net;

namespace Router.Integration.Tests.Chat;

public sealed class ZeroConfigurationTests
{
    [Fact]
    public async Task With_no_provider_chat_requests_get_503_explaining_how_to_configure_one()
    {
        await using var router = await RouterServerHost.StartAsync(new Dictionary<string, string?>());

        using var response = await TestJson.PostAsync(router.Http, "v1/chat/completions", TestJson.Chat("auto", "hello"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        var error = await TestJson.ErrorAsync(response);
        Assert.Equal("no_healthy_model", error["code"]!.GetValue<string>());
        Assert.Contains("Router__Providers__", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configured_keys_are_required_and_accepted_in_both_header_styles()
    {
        await using var router = await RouterServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["Router:ApiKeys:0:Tenant"] = "acme",
            ["Router:ApiKeys:0:Key"] = "test-key-acme",
        });

        using var anonymous = await router.Http.GetAsync("v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("invalid_api_key", (await TestJson.ErrorAsync(anonymous))["code"]!.GetValue<string>());

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        wrong.Headers.Add("Authorization", "Bearer not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await router.Http.SendAsync(wrong)).StatusCode);

        using var bearer = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        bearer.Headers.Add("Authorization", "Bearer test-key-acme");
        Assert.Equal(HttpStatusCode.OK, (await router.Http.SendAsync(bearer)).StatusCode);

        using var azureStyle = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        azureStyle.Headers.Add("api-key", "test-key-acme");
        Assert.Equal(HttpStatusCode.OK, (await router.Http.SendAsync(azureStyle)).StatusCode);
    }

    [Fact]
    public void The_anonymous_tenant_is_offered_only_when_every_address_is_loopback()
    {
        Assert.True(Router.Server.RouterServer.AllLoopback("http://127.0.0.1:7071"));
        Assert.True(Router.Server.RouterServer.AllLoopback("http://localhost:5000;http://[::1]:5001"));
        Assert.False(Router.Server.RouterServer.AllLoopback("http://0.0.0.0:7071"));
        Assert.False(Router.Server.RouterServer.AllLoopback("http://*:7071"));
        Assert.False(Router.Server.RouterServer.AllLoopback("http://127.0.0.1:7071;http://10.0.0.4:7071"));
    }
}

public sealed class StartupValidationTests
{
    [Fact]
    public async Task A_catalog_that_references_a_missing_provider_fails_at_start_naming_the_setting()
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            RouterServerHost.StartAsync(new Dictionary<string, string?>
            {
                ["Router:Models:orphan:Provider"] = "ghost",
                ["Router:Models:orphan:Tier"] = "Economy",
            }));

        Assert.Contains(failure.Failures, f => f.StartsWith("Router:Models:orphan:Provider", StringComparison.Ordinal) && f.Contains("ghost", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_model_whose_tier_is_not_a_tier_stops_the_server_instead_of_vanishing_from_the_catalog()
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            RouterServerHost.StartAsync(new Dictionary<string, string?>
            {
                ["Router:Providers:p:Endpoint"] = "http://127.0.0.1:9/v1",
                ["Router:Models:typo:Provider"] = "p",
                ["Router:Models:typo:Tier"] = "Ultra",
            }));

        Assert.Contains(failure.Failures, f => f.Contains("'Router:Models:typo:Tier'", StringComparison.Ordinal) && f.Contains("'Ultra'", StringComparison.Ordinal));
    }
}
