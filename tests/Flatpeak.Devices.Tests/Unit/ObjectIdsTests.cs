using Flatpeak.Devices.Api.Common;

namespace Flatpeak.Devices.Tests.Unit;

public sealed class ObjectIdsTests
{
    [Fact]
    public void An_id_is_the_prefix_and_24_lowercase_hex_digits_carrying_its_second()
    {
        var at = new DateTimeOffset(2022, 1, 24, 14, 15, 22, TimeSpan.Zero);

        var id = ObjectIds.New(ObjectIds.Device, at);

        Assert.Matches("^dev_[0-9a-f]{24}$", id);
        Assert.Equal(at.ToUnixTimeSeconds().ToString("x8", System.Globalization.CultureInfo.InvariantCulture), id[4..12]);
        Assert.Equal(at, ObjectIds.TimeOf(id));
        Assert.True(ObjectIds.IsValid(id, ObjectIds.Device));
    }

    [Fact]
    public void Ids_of_one_second_are_distinct_share_the_process_part_and_count_up()
    {
        var at = DateTimeOffset.UtcNow;

        var ids = Enumerable.Range(0, 10_000).Select(_ => ObjectIds.New(ObjectIds.Location, at)).ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Single(ids.Select(id => id[12..22]).Distinct());
        var counters = ids.Select(id => Convert.ToInt32(id[22..], 16)).ToList();
        // Counting up (modulo 2^24); other tests running in parallel take ids too, so not always by exactly one.
        Assert.All(counters.Zip(counters.Skip(1)), pair => Assert.InRange((pair.Second - pair.First) & 0xFFFFFF, 1, 0x7FFFFF));
    }

    [Fact]
    public void Ids_sort_by_creation_time()
    {
        var earlier = ObjectIds.New(ObjectIds.Device, DateTimeOffset.UtcNow.AddSeconds(-1));
        var later = ObjectIds.New(ObjectIds.Device, DateTimeOffset.UtcNow);

        Assert.True(string.CompareOrdinal(earlier, later) < 0);
    }

    [Theory]
    [InlineData("loc_641b90b758fb8e6293716e40", true)]
    [InlineData("loc_641b90b758fb8e6293716e4", false)]
    [InlineData("loc_641b90b758fb8e6293716e400", false)]
    [InlineData("loc_641B90B758FB8E6293716E40", false)]
    [InlineData("loc-641b90b758fb8e6293716e40", false)]
    [InlineData("dev_641b90b758fb8e6293716e40", false)]
    [InlineData("loc_641b90b758fb8e6293716g40", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsValid_accepts_only_well_formed_ids_of_the_prefix(string? id, bool valid) =>
        Assert.Equal(valid, ObjectIds.IsValid(id, ObjectIds.Location));
}
