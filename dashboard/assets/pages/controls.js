// Kill switches and quarantines (admins): what is engaged, engage and release with a reason, and every change with who,
// when and why. An engaged kill switch makes the gate deny every matching step and stops approved steps before their call.
import { call, get } from '../api.js';
import { badge, busy, field, fill, h, notice, problem, section, select, time, words } from '../ui.js';

export function render(main, { announce }) {
  const engaged = h('div');
  const history = h('div');
  const agents = [];
  const tools = [];
  const scope = select([['global', 'Everything (global)'], ['agent', 'One agent'], ['tool', 'One tool']], { id: 'ks-scope', name: 'scope' });
  const target = h('select', { id: 'ks-target', name: 'target', disabled: true });
  const reason = h('input', { id: 'ks-reason', name: 'reason', type: 'text', required: true, maxlength: '500', autocomplete: 'off' });
  const engageButton = h('button', { type: 'submit', class: 'danger', text: 'Engage kill switch' });
  const engageOutcome = h('div', { 'aria-live': 'polite' });
  const qTool = h('select', { id: 'q-tool', name: 'tool' });
  const qReason = h('input', { id: 'q-reason', name: 'reason', type: 'text', required: true, maxlength: '500', autocomplete: 'off' });
  const qButton = h('button', { type: 'submit', class: 'danger', text: 'Quarantine tool' });
  const qOutcome = h('div', { 'aria-live': 'polite' });

  const targets = () => {
    const names = scope.value === 'agent' ? agents : scope.value === 'tool' ? tools : [];
    fill(target, names.map((n) => h('option', { value: n, text: n })));
    target.disabled = scope.value === 'global';
  };
  scope.addEventListener('change', targets);

  const refresh = async () => {
    try {
      const [active, changes] = await Promise.all([get('/api/controls'), get('/api/controls/history?max=50')]);
      fill(engaged, engagedOf(active.controls ?? [], release));
      fill(history, historyOf(changes.events ?? []));
    } catch (error) {
      fill(engaged, problem(error, 'Reading the controls'));
    }
  };

  const change = async (path, body, outcome, said) => {
    try {
      await call(path, { method: 'POST', body });
      fill(outcome, notice('good', said));
      announce(said);
      await refresh();
      return true;
    } catch (error) {
      fill(outcome, problem(error, 'The change was refused'));
      return false;
    }
  };

  async function release(control, reasonInput, button, outcome) {
    await busy(button, async () => {
      const path = control.kind === 'quarantine' ? '/api/controls/quarantine/release' : '/api/controls/kill-switch/release';
      const body = control.kind === 'quarantine'
        ? { tool: control.target, reason: reasonInput.value.trim() || undefined }
        : { scope: control.scope, target: control.scope === 'global' ? undefined : control.target, reason: reasonInput.value.trim() || undefined };
      await change(path, body, outcome, `Released ${control.rule}.`);
    });
  }

  fill(main,
    h('h1', { text: 'Kill switches and quarantines' }),
    h('p', { class: 'lede', text: 'An engaged kill switch denies every matching step at the gate and stops an approved step before its call; a quarantine takes one tool out of service.' }),
    h('div', { id: 'engaged' }, engaged),
    section('Engage a kill switch', 2, h('form', { class: 'inline-form', on: { submit: async (event) => {
      event.preventDefault();
      await busy(engageButton, async () => {
        const body = { scope: scope.value, target: scope.value === 'global' ? undefined : target.value, reason: reason.value.trim() };
        if (await change('/api/controls/kill-switch', body, engageOutcome, `Kill switch engaged for ${scope.value === 'global' ? 'everything' : `${scope.value} ${target.value}`}.`)) {
          reason.value = '';
        }
      });
    } } }, field('Scope', scope), field('Target', target), field('Reason', reason, 'Recorded with every decision the switch makes.'), h('div', { class: 'field actions' }, engageButton)), engageOutcome),
    section('Quarantine a tool', 2, h('form', { class: 'inline-form', on: { submit: async (event) => {
      event.preventDefault();
      await busy(qButton, async () => {
        if (await change('/api/controls/quarantine', { tool: qTool.value, reason: qReason.value.trim() }, qOutcome, `Tool ${qTool.value} quarantined.`)) {
          qReason.value = '';
        }
      });
    } } }, field('Tool', qTool), field('Reason', qReason), h('div', { class: 'field actions' }, qButton)), qOutcome),
    history);

  Promise.all([get('/api/agents'), get('/api/tools')]).then(([a, t]) => {
    agents.push(...(a ?? []).map((x) => x.name));
    tools.push(...new Set((t ?? []).map((x) => x.name)));
    fill(qTool, tools.map((n) => h('option', { value: n, text: n })));
    targets();
  }).catch(() => {});
  refresh();
  return null;
}

function engagedOf(controls, release) {
  if (controls.length === 0) {
    return section('Engaged now', 2, notice('good', h('p', {}, badge('good', 'Nothing engaged'), ' Every step goes to the policy as usual.')));
  }
  return section('Engaged now', 2, h('ul', { class: 'controls' }, controls.map((c) => {
    const reasonId = `release-${c.rule}`.replace(/[^A-Za-z0-9_-]/g, '-');
    const reason = h('input', { id: reasonId, type: 'text', maxlength: '500', autocomplete: 'off' });
    const outcome = h('div', { 'aria-live': 'polite' });
    const button = h('button', { type: 'button', class: 'secondary', text: `Release ${c.rule}`, on: { click: () => release(c, reason, button, outcome) } });
    return h('li', { class: 'control', dataset: { rule: c.rule } },
      h('p', {}, badge('bad', c.kind === 'quarantine' ? 'Quarantined' : 'Kill switch engaged'), ' ', h('code', { text: c.rule })),
      h('p', {}, `${c.reason} — by ${c.engagedBy}, `, time(c.engagedAt)),
      h('div', { class: 'inline-form' }, field('Reason for release', reason), h('div', { class: 'field actions' }, button)),
      outcome);
  })));
}

function historyOf(events) {
  return section('History', 2, events.length === 0 ? notice('info', 'No control was ever engaged.') : h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Control history' }, h('table', {},
    h('thead', {}, h('tr', {}, ['When', 'What', 'Control', 'By', 'Why'].map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, events.map((e) => h('tr', {},
      h('td', {}, time(e.at)),
      h('td', { text: words(e.action) }),
      h('td', {}, h('code', { text: `${e.kind}:${e.scope}${e.target ? `:${e.target}` : ''}` })),
      h('td', { text: e.by }),
      h('td', { text: e.reason })))))));
}
