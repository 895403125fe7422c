using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.HttpFile;

/// <summary>Runs Flatpeak.Devices.http from top to bottom, as an editor's HTTP client would, and expects every request to succeed.</summary>
public sealed partial class HttpFileTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Every_request_of_the_http_file_succeeds_in_order()
    {
        var account = await CreateAccountAsync();
        var text = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "Flatpeak.Devices.http"));
        var variables = new Dictionary<string, string>
        {
            ["baseUrl"] = "http://localhost",
            ["basicCredentials"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{account.AccountId}:{account.TestKey}")),
        };
        var responses = new Dictionary<string, JsonElement>();
        using var client = Api.Client();
        var sent = 0;

        foreach (var block in text.Split("###").Skip(1))
        {
            var lines = block.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            var name = lines.Select(l => NamePattern().Match(l)).FirstOrDefault(m => m.Success)?.Groups[1].Value;
            var requestLine = lines.Skip(1).First(l => l.Length > 0 && !l.StartsWith('#'));
            var start = lines.IndexOf(requestLine);
            var blank = lines.FindIndex(start, l => l.Trim().Length == 0);
            var headers = lines.Skip(start + 1).Take((blank < 0 ? lines.Count : blank) - start - 1).Where(l => !l.StartsWith('#')).ToList();
            var body = blank < 0 ? string.Empty : string.Join('\n', lines.Skip(blank + 1)).Trim();
            string Expand(string s) => VariablePattern().Replace(s, m => Resolve(m.Groups[1].Value, variables, responses));

            var parts = Expand(requestLine).Split(' ', 2);
            using var request = new HttpRequestMessage(new HttpMethod(parts[0]), parts[1]);
            if (body.Length > 0)
            {
                request.Content = new StringContent(Expand(body), Encoding.UTF8, "application/json");
            }

            foreach (var header in headers.Select(Expand))
            {
                var (key, value) = (header[..header.IndexOf(':', StringComparison.Ordinal)], header[(header.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim());
                if (!key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    request.Headers.TryAddWithoutValidation(key, value);
                }
            }

            using var response = await client.SendAsync(request);
            var content = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{requestLine} answered {(int)response.StatusCode}: {content}");
            if (name is not null)
            {
                responses[name] = JsonDocument.Parse(content).RootElement.Clone();
            }

            sent++;
        }

        Assert.Equal(16, sent);
    }

    private static string Resolve(string expression, Dictionary<string, string> variables, Dictionary<string, JsonElement> responses)
    {
        if (variables.TryGetValue(expression, out var value))
        {
            return value;
        }

        // The editors' dynamic variable: now, in ISO 8601 (UTC, milliseconds).
        if (expression == "$datetime iso8601")
        {
            return DateTimeOffset.UtcNow.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        }

        // {{name.response.body.$.a.b}}
        var parts = expression.Split('.');
        Assert.True(parts.Length >= 5 && parts[1] == "response" && parts[2] == "body" && parts[3] == "$", $"unsupported variable {expression}");
        var node = responses[parts[0]];
        foreach (var part in parts[4..])
        {
            node = node.GetProperty(part);
        }

        return node.GetString()!;
    }

    [GeneratedRegex(@"^#\s*@name\s+(\w+)")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"\{\{([^}]+)\}\}")]
    private static partial Regex VariablePattern();
}
