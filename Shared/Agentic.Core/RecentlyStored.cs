using System.Collections.Concurrent;

namespace Agentic.Core;

/// <summary>
/// Rows this process wrote or read lately from a store that never changes a row once written (an audit record, a gate
/// decision), kept so a read of one of them soon after is answered from memory. Only what the store confirmed as stored
/// (or returned as stored) goes in. Each row is kept for <see cref="MaxAge"/> at most: rows are deleted only by retention,
/// a day or more after their run ended, and a run id can come back after that (the same idempotency key submitted
/// again), so no row may outlive the shortest retention. Bounded: at <see cref="Capacity"/> rows it forgets them all,
/// which costs one read each of those still asked for.
/// </summary>
/// <typeparam name="TKey">What names a row.</typeparam>
/// <typeparam name="TValue">The row as stored.</typeparam>
public sealed class RecentlyStored<TKey, TValue>
    where TKey : notnull
{
    /// <summary>How long a row is kept when no other age is given: long enough for the step that reads what the one before it wrote.</summary>
    public static readonly TimeSpan DefaultMaxAge = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<TKey, (TValue Value, long At)> _entries = new();
    private readonly TimeProvider _clock;

    /// <summary>Rows kept for at most <paramref name="capacity"/> keys, each for at most <paramref name="maxAge"/> (default <see cref="DefaultMaxAge"/>).</summary>
    public RecentlyStored(int capacity, TimeSpan? maxAge = null, TimeProvider? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        var age = maxAge ?? DefaultMaxAge;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(age, TimeSpan.Zero, nameof(maxAge));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(age, TimeSpan.FromHours(1), nameof(maxAge));
        (Capacity, MaxAge, _clock) = (capacity, age, clock ?? TimeProvider.System);
    }

    /// <summary>The most rows kept.</summary>
    public int Capacity { get; }

    /// <summary>How long a row is kept.</summary>
    public TimeSpan MaxAge { get; }

    /// <summary>The stored row of <paramref name="key"/>, if kept and not older than <see cref="MaxAge"/>.</summary>
    public bool TryGet(TKey key, out TValue value)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (_clock.GetElapsedTime(entry.At) <= MaxAge)
            {
                value = entry.Value;
                return true;
            }
            _entries.TryRemove(KeyValuePair.Create(key, entry));
        }
        value = default!;
        return false;
    }

    /// <summary>Keeps <paramref name="value"/>, the row storage holds under <paramref name="key"/>.</summary>
    public void Remember(TKey key, TValue value)
    {
        if (_entries.Count >= Capacity)
        {
            _entries.Clear();
        }
        _entries[key] = (value, _clock.GetTimestamp());
    }

    /// <summary>Forgets every kept row whose key <paramref name="match"/> accepts (rows deleted from the store).</summary>
    public void Forget(Func<TKey, bool> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        foreach (var key in _entries.Keys.Where(match))
        {
            _entries.TryRemove(key, out _);
        }
    }
}
