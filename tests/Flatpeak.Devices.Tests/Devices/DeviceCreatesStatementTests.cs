using System.Text.RegularExpressions;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Devices;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Devices;

/// <summary>
/// The batched create statement is written out by hand; the EF model owns the tables. Each INSERT's column list must
/// be exactly its table's columns in the model, so that a field added to an entity (and its migration) fails here,
/// not on the first request.
/// </summary>
public sealed partial class DeviceCreatesStatementTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public void Every_insert_of_the_statement_lists_exactly_its_table_s_columns_in_the_model()
    {
        using var scope = Api.Factory.Services.CreateScope();
        var model = scope.ServiceProvider.GetRequiredService<DevicesDbContext>().Model;

        Assert.Equal(ColumnsOf<Device>(model), Inserted("devices"));
        Assert.Equal(ColumnsOf<DeviceLocation>(model), Inserted("device_locations"));
        // The events the database fills in itself: the API version served, the transaction id and the time written.
        Assert.Equal(ColumnsOf<ApiEvent>(model).Except(["api_version", "xact_id", "written_at"]), Inserted("events"));
    }

    [Fact]
    public void Every_device_column_comes_from_a_parameter_of_its_own_except_the_ones_the_statement_makes()
    {
        using var scope = Api.Factory.Services.CreateScope();
        var model = scope.ServiceProvider.GetRequiredService<DevicesDbContext>().Model;
        var parameters = Parameter().Matches(DeviceCreates.Statement).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

        // locations is gathered from the locations' parameters, in order; last_seen starts empty.
        Assert.Equal(ColumnsOf<Device>(model).Except(["locations", "last_seen"]), ColumnsOf<Device>(model).Where(parameters.Contains));
    }

    private static List<string> ColumnsOf<TEntity>(IModel model)
    {
        var entity = model.FindEntityType(typeof(TEntity))!;
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        return [.. entity.GetProperties().Select(p => p.GetColumnName(table)!).Order(StringComparer.Ordinal)];
    }

    private static List<string> Inserted(string table)
    {
        var match = Regex.Match(DeviceCreates.Statement, $@"INSERT INTO {table} \(([^)]*)\)", RegexOptions.CultureInvariant);
        Assert.True(match.Success, $"The statement inserts into {table}.");
        return [.. match.Groups[1].Value.Split(',').Select(c => c.Trim()).Order(StringComparer.Ordinal)];
    }

    [GeneratedRegex(@"@([a-z_]+)::")]
    private static partial Regex Parameter();
}
