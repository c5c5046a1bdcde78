using Microsoft.Extensions.Time.Testing;

namespace Agentic.Core.Tests;

public sealed class RecentlyStoredTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public void ARow_IsKeptForItsMaxAge_AndNotAMomentLonger()
    {
        var rows = new RecentlyStored<string, string>(10, TimeSpan.FromMinutes(10), _clock);
        rows.Remember("run-1/s1", "permit");

        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.True(rows.TryGet("run-1/s1", out var kept));
        Assert.Equal("permit", kept);
        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.False(rows.TryGet("run-1/s1", out _));
        // Stored again, it is kept again from then.
        rows.Remember("run-1/s1", "forbid");
        Assert.True(rows.TryGet("run-1/s1", out kept));
        Assert.Equal("forbid", kept);
    }

    [Fact]
    public void AtItsCapacity_ItForgetsEverything_ThenKeepsTheNewRow()
    {
        var rows = new RecentlyStored<int, int>(3, clock: _clock);
        foreach (var i in new[] { 1, 2, 3 })
        {
            rows.Remember(i, i * 10);
        }

        rows.Remember(4, 40);

        Assert.Equal([false, false, false, true], new[] { 1, 2, 3, 4 }.Select(i => rows.TryGet(i, out _)));
        Assert.Equal(TimeSpan.FromMinutes(10), rows.MaxAge);
    }

    [Fact]
    public void Forget_DropsTheRowsItsMatchAccepts_AndOnlyThose()
    {
        var rows = new RecentlyStored<(string Run, string Step), string>(10, clock: _clock);
        rows.Remember(("run-1", "s1"), "a");
        rows.Remember(("run-1", "s2"), "b");
        rows.Remember(("run-2", "s1"), "c");

        rows.Forget(k => k.Run == "run-1");

        Assert.False(rows.TryGet(("run-1", "s1"), out _));
        Assert.False(rows.TryGet(("run-1", "s2"), out _));
        Assert.True(rows.TryGet(("run-2", "s1"), out _));
    }

    [Fact]
    public void AnAgeLongerThanAnHour_OrNone_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecentlyStored<int, int>(10, TimeSpan.FromHours(2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecentlyStored<int, int>(10, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecentlyStored<int, int>(0));
    }
}
