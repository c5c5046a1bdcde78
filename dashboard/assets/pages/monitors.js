// Monitors: each one's schedule, what it watches, its last ticks (outcome and the run it started) and its next tick.
import { ApiError, get, segment } from '../api.js';
import { badge, facts, fill, h, notice, notServed, poll, problem, relative, time, words } from '../ui.js';

// A tick's outcome in words and tone: it started a run, found nothing to do, was held back, failed, or is under way.
const outcomes = {
  fired: ['good', 'started a run'],
  'condition-false': ['muted', 'nothing to do'],
  suppressed: ['muted', 'held back'],
  error: ['bad', 'error'],
  running: ['info', 'running'],
};

export function render(main) {
  const list = h('div');
  const updated = h('p', { class: 'updated muted' });
  let served = true;
  let drawn = '';
  fill(main, h('div', { class: 'page-head' }, h('h1', { text: 'Monitors' }), updated),
    h('p', { class: 'lede', text: 'Schedules that watch a target and start a run when their condition holds.' }), list);

  const refresh = async () => {
    let body;
    try {
      body = await get('/api/monitors?ticks=5');
    } catch (error) {
      if (error instanceof ApiError && error.notServed) {
        served = false;
        fill(list, notServed('Monitors'));
        return;
      }
      fill(list, problem(error, 'Listing monitors'));
      throw error;
    }
    fill(updated, 'Updated ', time(new Date().toISOString(), { short: true }));
    const monitors = body?.monitors ?? [];
    const text = JSON.stringify(monitors);
    if (text === drawn) {
      return;
    }
    drawn = text;
    fill(list, monitors.length === 0
      ? notice('info', 'No monitors are configured on this host.')
      : h('ul', { class: 'cards' }, monitors.map(card)));
  };

  return poll(refresh, { interval: 10000, max: 60000, keepGoing: () => served });
}

function tickOutcome(tick) {
  const [tone, label] = outcomes[tick.outcome] ?? ['info', words(tick.outcome)];
  return [badge(tone, label), tick.pastDue ? [' ', badge('warn', tick.missed ? `late, for ${tick.missed + 1} occurrences` : 'late')] : null];
}

function card(m) {
  const headingId = `monitor-${m.name}`.replace(/[^A-Za-z0-9_-]/g, '-');
  const ticks = m.ticks ?? [];
  return h('li', { class: 'panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, m.name, ' ', m.enabled === false ? badge('muted', 'Disabled') : badge('good', 'Enabled')),
    m.description ? h('p', { text: m.description }) : null,
    facts([
      ['Schedule', h('code', { text: m.schedule })],
      ['Agent', m.agent],
      ['Target', m.target ? h('span', { class: 'target', text: m.target }) : null],
      ['Runs as', m.principal],
      ['Watches', m.signal ? `${m.signal.kind}${m.signal.path ? ` ${m.signal.path}` : ''}` : null],
      ['Fires when', m.when ? h('code', { text: m.when }) : null],
      ['Last tick', m.lastTick ? [tickOutcome(m.lastTick), ' ', time(m.lastTick.scheduledAt ?? m.lastTick.startedAt, { short: true })] : 'none yet'],
      ['Next tick', m.nextTick ? [time(m.nextTick, { short: true }), ` (${relative(m.nextTick)})`] : null],
    ]),
    ticks.length === 0 ? null : h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': `Last ticks of ${m.name}` },
      h('table', {},
        h('thead', {}, h('tr', {}, ['Tick', 'Scheduled', 'Outcome', 'Saw', 'Reason', 'Run'].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, ticks.map((t) => h('tr', {},
          h('td', { text: t.seq ?? '' }),
          h('td', {}, time(t.scheduledAt, { short: true })),
          h('td', {}, tickOutcome(t)),
          h('td', { text: t.observationStatus ?? '' }),
          h('td', { text: t.reason ? words(t.reason) : '' }),
          h('td', {}, t.runId ? h('a', { href: `#/runs/${segment(t.runId)}`, class: 'mono', text: t.runId }) : '—')))))));
}
