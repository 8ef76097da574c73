using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Router.Integration.Tests;

/// <summary>Small helpers for raw JSON requests and OpenAI-style error bodies.</summary>
public static class TestJson
{
    public static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string json, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Body(json) };
        if (apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return await http.SendAsync(request);
    }

    /// <summary>Reads an OpenAI-style error and checks its shape: an object with message, type, param and code.</summary>
    public static async Task<JsonObject> ErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        var error = JsonNode.Parse(text)!["error"]!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.False(string.IsNullOrWhiteSpace(error["type"]!.GetValue<string>()));
        Assert.True(error.ContainsKey("param"));
        Assert.True(error.ContainsKey("code"));
        return error;
    }

    public static string Chat(string model, string prompt, bool stream = false) =>
        new JsonObject
        {
            ["model"] = model,
            ["stream"] = stream,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = SensitiveValues.Register(prompt) }),
        }.ToJsonString();
}
