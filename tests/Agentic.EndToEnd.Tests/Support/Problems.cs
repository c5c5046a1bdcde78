using System.Net;
using System.Text.Json;

namespace Agentic.EndToEnd.Tests.Support;

/// <summary>Assertions on <c>application/problem+json</c> answers.</summary>
public static class Problems
{
    /// <summary>
    /// The answer has <paramref name="status"/>, is problem+json with a title and that status, and (when
    /// <paramref name="field"/> is given) has an <c>errors</c> entry naming that field. Returns the problem document.
    /// </summary>
    public static async Task<JsonElement> AssertAsync(HttpResponseMessage response, HttpStatusCode status, string? field, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()), body);
        if (field is not null)
        {
            Assert.True(problem.TryGetProperty("errors", out var errors), $"No 'errors' member: {body}");
            var fields = errors.EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList();
            Assert.True(fields.Contains(field), $"No error names '{field}' (fields: {string.Join(", ", fields)}): {body}");
            Assert.All(errors.EnumerateArray(), e => Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("message").GetString())));
        }
        return problem;
    }
}
