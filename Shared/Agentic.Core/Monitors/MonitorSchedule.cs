using NCrontab;

namespace Agentic.Core.Monitors;

/// <summary>
/// A monitor's schedule: an NCRONTAB expression of six fields (second, minute, hour, day of month, month, day of week), read
/// exactly as the Azure Functions timer trigger reads its schedule (NCrontab with seconds), in UTC. <c>*/30 * * * * *</c>
/// is every 30 seconds, <c>0 */5 * * * *</c> every five minutes, <c>0 0 9 * * 1-5</c> 09:00 on weekdays.
/// </summary>
public sealed class MonitorSchedule
{
    private static readonly CrontabSchedule.ParseOptions SixFields = new() { IncludingSeconds = true };

    private readonly CrontabSchedule _schedule;

    private MonitorSchedule(string text, CrontabSchedule schedule)
    {
        Text = text;
        _schedule = schedule;
    }

    /// <summary>The expression as written.</summary>
    public string Text { get; }

    /// <summary>The schedule of <paramref name="text"/>, or null with <paramref name="problem"/> saying what is wrong.</summary>
    public static MonitorSchedule? TryParse(string? text, out string? problem)
    {
        problem = null;
        var trimmed = text?.Trim() ?? "";
        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields != 6)
        {
            problem = $"'{trimmed}' has {fields} field{(fields == 1 ? "" : "s")}; a schedule is NCRONTAB with six (second minute hour day month day-of-week), e.g. '0 */5 * * * *'";
            return null;
        }
        var schedule = CrontabSchedule.TryParse(trimmed, SixFields, s => s, e => null!);
        if (schedule is null)
        {
            problem = $"'{trimmed}' is not a valid NCRONTAB schedule (second minute hour day month day-of-week, e.g. '0 */5 * * * *')";
            return null;
        }
        return new MonitorSchedule(trimmed, schedule);
    }

    /// <summary>The schedule of <paramref name="text"/>.</summary>
    /// <exception cref="FormatException">It is not a six-field NCRONTAB expression.</exception>
    public static MonitorSchedule Parse(string text) => TryParse(text, out var problem) ?? throw new FormatException(problem);

    /// <summary>The first occurrence strictly after <paramref name="after"/>.</summary>
    public DateTimeOffset Next(DateTimeOffset after) =>
        new(DateTime.SpecifyKind(_schedule.GetNextOccurrence(after.UtcDateTime), DateTimeKind.Utc));

    /// <summary>The most occurrences <see cref="Due"/> counts; a schedule left for longer reports this many.</summary>
    public const int MaxCounted = 10_000;

    /// <summary>
    /// The occurrences in (<paramref name="after"/>, <paramref name="until"/>]: the first, the latest and how many (at most
    /// <see cref="MaxCounted"/>); null when there is none.
    /// </summary>
    public (DateTimeOffset First, DateTimeOffset Latest, int Count)? Due(DateTimeOffset after, DateTimeOffset until)
    {
        var first = Next(after);
        if (first > until)
        {
            return null;
        }
        var latest = Latest(until, first);
        var count = 1;
        for (var at = first; at < latest && count < MaxCounted; count++)
        {
            at = Next(at);
        }
        return (first, latest, count);
    }

    // The last occurrence at or before until, given one (first) that is: looked for in the smallest window before until that
    // holds one, so a schedule of every second left for a year is not walked second by second.
    private DateTimeOffset Latest(DateTimeOffset until, DateTimeOffset first)
    {
        foreach (var window in Windows)
        {
            var from = until - window;
            if (from < first)
            {
                break;
            }
            var candidate = Next(from - TimeSpan.FromTicks(1));
            if (candidate <= until)
            {
                return Walk(candidate, until);
            }
        }
        return Walk(first, until);
    }

    private DateTimeOffset Walk(DateTimeOffset from, DateTimeOffset until)
    {
        var latest = from;
        for (var next = Next(latest); next <= until; next = Next(latest))
        {
            latest = next;
        }
        return latest;
    }

    private static readonly TimeSpan[] Windows =
        [TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), TimeSpan.FromHours(1), TimeSpan.FromDays(1), TimeSpan.FromDays(32), TimeSpan.FromDays(367)];

    /// <summary>The longest time between two occurrences among the next <paramref name="samples"/> after <paramref name="from"/>.</summary>
    public TimeSpan LongestGap(DateTimeOffset from, int samples = 1000)
    {
        var longest = TimeSpan.Zero;
        var previous = Next(from);
        for (var i = 0; i < samples; i++)
        {
            var next = Next(previous);
            if (next - previous > longest)
            {
                longest = next - previous;
            }
            previous = next;
        }
        return longest;
    }

    /// <inheritdoc />
    public override string ToString() => Text;
}
