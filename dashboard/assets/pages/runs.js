// Runs: the list with filters and live refresh, opening a run by id, and (for requesters) starting one.
import { ApiError, call, get, segment, withQuery } from '../api.js';
import { busy, field, fill, h, hasRole, notice, notServed, poll, problem, runStatus, select, time, words } from '../ui.js';

// The filters survive leaving the page and coming back within the tab.
const filters = { status: '', agent: '', principal: '', createdFrom: '', createdTo: '' };

export function render(main, { me, announce }) {
  const seesAll = hasRole(me, 'operator', 'admin');
  const listArea = h('div', { class: 'list-area' });
  const updated = h('p', { class: 'updated muted', 'aria-live': 'off' });
  const live = h('input', { type: 'checkbox', id: 'runs-live', checked: true });
  let rows = [];
  let token = null;
  let stop = null;

  const status = select([['', 'Any status'], ['running', 'Running'], ['completed', 'Completed'], ['failed', 'Failed'], ['terminated', 'Terminated']], { id: 'filter-status', name: 'status' });
  const agent = select([['', 'Any agent']], { id: 'filter-agent', name: 'agent' });
  const principal = h('input', { id: 'filter-principal', name: 'principal', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const from = h('input', { id: 'filter-from', name: 'createdFrom', type: 'datetime-local' });
  const to = h('input', { id: 'filter-to', name: 'createdTo', type: 'datetime-local' });
  status.value = filters.status;
  principal.value = filters.principal;
  from.value = filters.createdFrom;
  to.value = filters.createdTo;

  const query = (continuation) => withQuery('/api/runs', {
    status: filters.status,
    agent: filters.agent,
    principal: seesAll ? filters.principal : '',
    createdFrom: filters.createdFrom ? new Date(filters.createdFrom).toISOString() : '',
    createdTo: filters.createdTo ? new Date(filters.createdTo).toISOString() : '',
    top: 50,
    continuationToken: continuation,
  });

  // The first page again (live refresh or new filters); pages loaded with "Load more" are replaced by it.
  const refresh = async () => {
    try {
      const page = await get(query());
      rows = page?.runs ?? [];
      token = page?.continuationToken ?? null;
      draw();
      fill(updated, 'Updated ', time(new Date().toISOString(), { short: true }));
    } catch (error) {
      if (error instanceof ApiError && error.notServed) {
        fill(listArea, notServed('The run list'));
        stop?.();
        return;
      }
      fill(listArea, problem(error, 'Listing runs'));
      throw error;
    }
  };

  const loadMore = async (button) => {
    await busy(button, async () => {
      const page = await get(query(token));
      rows = rows.concat(page?.runs ?? []);
      token = page?.continuationToken ?? null;
      draw();
      announce(`${page?.runs?.length ?? 0} more runs.`);
    });
  };

  const draw = () => {
    if (rows.length === 0) {
      fill(listArea, notice('info', 'No runs match these filters.'));
      return;
    }
    const table = h('table', { class: 'runs' },
      h('caption', { class: 'visually-hidden', text: 'Runs, newest first' }),
      h('thead', {}, h('tr', {}, ['Status', 'Run', 'Agent', 'Target', 'Requested by', 'Created', 'Updated', 'Waiting for'].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, rows.map((r) => h('tr', { dataset: { run: r.id } },
        h('td', {}, runStatus(r.status, r.phase)),
        h('td', {}, h('a', { href: `#/runs/${segment(r.id)}`, class: 'mono', text: r.id })),
        h('td', { text: r.agent }),
        h('td', { class: 'target', text: r.target }),
        h('td', { text: r.principal }),
        h('td', {}, time(r.createdAt, { short: true })),
        h('td', {}, time(r.updatedAt, { short: true })),
        h('td', {}, r.pendingApproval
          ? [h('span', { text: `${r.pendingApproval.stepId} ${r.pendingApproval.tool}` }), h('br'), h('span', { class: 'muted', text: `role ${r.pendingApproval.approverRole ?? 'any'}` })]
          : h('span', { class: 'muted', text: '—' }))))));
    fill(listArea, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Runs' }, table),
      token ? h('button', { type: 'button', class: 'secondary', text: 'Load more', on: { click: (e) => loadMore(e.currentTarget) } }) : null);
  };

  const startPolling = () => {
    stop?.();
    stop = poll(refresh, { interval: 3000, max: 30000, keepGoing: () => live.checked });
  };
  live.addEventListener('change', () => {
    if (live.checked) {
      startPolling();
      announce('Live refresh on.');
    } else {
      stop?.();
      announce('Live refresh off.');
    }
  });

  const filterForm = h('form', { class: 'filters', 'aria-label': 'Filter runs', on: { submit: (event) => {
    event.preventDefault();
    Object.assign(filters, { status: status.value, agent: agent.value, principal: principal.value.trim(), createdFrom: from.value, createdTo: to.value });
    startPolling();
    announce('Filters applied.');
  } } },
  field('Status', status),
  field('Agent', agent),
  seesAll ? field('Requested by', principal) : null,
  field('Created from', from),
  field('Created to', to),
  h('div', { class: 'field actions' }, h('button', { type: 'submit', class: 'primary', text: 'Apply filters' })));

  const openId = h('input', { id: 'open-run-id', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'run-…', required: true, pattern: '\\S+' });
  const openForm = h('form', { class: 'inline-form', on: { submit: (event) => {
    event.preventDefault();
    location.hash = `#/runs/${segment(openId.value.trim())}`;
  } } }, field('Run id', openId), h('button', { type: 'submit', class: 'secondary', text: 'Open run' }));

  fill(main,
    h('div', { class: 'page-head' }, h('h1', { text: 'Runs' }),
      h('div', { class: 'live' }, live, h('label', { for: 'runs-live', text: 'Live refresh' }), updated)),
    filterForm,
    listArea,
    h('section', { class: 'panel', 'aria-labelledby': 'open-heading' }, h('h2', { id: 'open-heading', text: 'Open a run' }), openForm),
    hasRole(me, 'requester') ? startRunPanel(announce) : null);

  // The agent filter and the start form both need the catalog.
  get('/api/agents').then((catalog) => {
    for (const a of catalog ?? []) {
      agent.append(h('option', { value: a.name, text: a.name }));
    }
    agent.value = filters.agent;
    document.querySelectorAll('select[data-agents]').forEach((s) => {
      for (const a of catalog ?? []) {
        s.append(h('option', { value: a.name, text: `${a.name} (${words(a.autonomy)})` }));
      }
    });
  }).catch(() => {});

  startPolling();
  return () => stop?.();
}

// POST /api/runs as the signed-in requester; the answer's id opens the run.
function startRunPanel(announce) {
  const agent = h('select', { id: 'start-agent', name: 'agent', required: true, dataset: { agents: '' } });
  const target = h('input', { id: 'start-target', name: 'target', type: 'url', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'http://127.0.0.1:7072/services/checkout' });
  const goal = h('input', { id: 'start-goal', name: 'goal', type: 'text', autocomplete: 'off' });
  const key = h('input', { id: 'start-key', name: 'idempotencyKey', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const outcome = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Start run' });
  const form = h('form', { class: 'start-run', on: { submit: async (event) => {
    event.preventDefault();
    await busy(submit, async () => {
      try {
        const body = { agent: agent.value, target: target.value.trim() };
        if (goal.value.trim()) {
          body.goal = goal.value.trim();
        }
        if (key.value.trim()) {
          body.idempotencyKey = key.value.trim();
        }
        const { data } = await call('/api/runs', { method: 'POST', body });
        announce(data.created === false ? 'That key already started a run; opening it.' : 'Run started.');
        location.hash = `#/runs/${segment(data.id)}`;
      } catch (error) {
        fill(outcome, problem(error, 'Starting the run'));
      }
    });
  } } },
  field('Agent', agent),
  field('Target', target, 'The service the agent acts on; the deployment\'s run target rules must allow it.'),
  field('Goal', goal, 'Optional: what the run is for, in words.'),
  field('Idempotency key', key, 'Optional: the same key returns the same run instead of starting another.'),
  h('div', { class: 'field actions' }, submit));
  return h('section', { class: 'panel', 'aria-labelledby': 'start-heading' }, h('h2', { id: 'start-heading', text: 'Start a run' }), form, outcome);
}
