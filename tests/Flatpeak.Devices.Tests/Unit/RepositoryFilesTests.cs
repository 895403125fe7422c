using System.Text.Json;
using System.Text.RegularExpressions;
using Flatpeak.Devices.Tests.Infrastructure;
using Npgsql;

namespace Flatpeak.Devices.Tests.Unit;

/// <summary>The files a newcomer starts from say the same thing as each other.</summary>
public sealed class RepositoryFilesTests
{
    [Fact]
    public void Development_settings_reach_the_database_docker_compose_starts()
    {
        var compose = File.ReadAllText(Path.Combine(Repository.Root, "docker-compose.yml"));
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repository.Root, "src/Flatpeak.Devices.Api/appsettings.Development.json")));
        var connection = new NpgsqlConnectionStringBuilder(settings.RootElement.GetProperty("ConnectionStrings").GetProperty("Postgres").GetString());

        Assert.Equal(Setting(compose, "POSTGRES_DB"), connection.Database);
        Assert.Equal(Setting(compose, "POSTGRES_USER"), connection.Username);
        Assert.Equal(Setting(compose, "POSTGRES_PASSWORD"), connection.Password);
        Assert.Equal("localhost", connection.Host);
        Assert.Contains($"\"127.0.0.1:{connection.Port}:5432\"", compose, StringComparison.Ordinal);
    }

    [Fact]
    public void The_docker_build_context_leaves_out_build_output()
    {
        var ignored = File.ReadAllLines(Path.Combine(Repository.Root, ".dockerignore"));

        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
    }

    private static string Setting(string compose, string name) => Regex.Match(compose, $@"^\s+{name}: (\S+)$", RegexOptions.Multiline).Groups[1].Value;
}
