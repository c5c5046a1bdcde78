// Policies: what the gate enforces (and shadows), the stored versions and their history, one version's text and rules,
// and for admins a what-if panel that replays recorded decisions against a candidate policy.
import { call, get, segment, withQuery } from '../api.js';
import { badge, busy, digest, facts, field, fill, h, hasRole, json, notice, problem, section, table, time, words } from '../ui.js';

export function render(main, { me, params, announce }) {
  const [id, version] = params;
  if (id && version) {
    return renderVersion(main, id, version);
  }
  const active = h('div');
  const versions = h('div');
  const history = h('div');
  fill(main, h('h1', { text: 'Policies' }), active, versions, history, hasRole(me, 'admin') ? whatIf(announce) : null);

  get('/api/policies').then((set) => fill(active, section('Active', 2,
    facts([
      ['Enforced', set.enforced ? slot(set.enforced) : badge('bad', 'None: every step is denied')],
      ['Shadow', set.shadow ? slot(set.shadow) : 'none'],
      ['Rollback returns to', (set.previous ?? []).length ? slot(set.previous[0]) : 'nothing'],
    ]))))
    .catch((error) => fill(active, problem(error, 'Reading the active policies')));

  get('/api/policies/versions').then((body) => fill(versions, section('Versions', 2,
    table('Stored policy versions', ['Policy', 'Content hash', 'Saved by', 'Saved'], (body.versions ?? []).map((v) => [
      h('a', { href: `#/policies/${segment(v.id)}/${segment(v.version)}`, text: `${v.id}@${v.version}` }),
      digest(v.contentHash),
      v.savedBy,
      time(v.savedAt),
    ])))))
    .catch((error) => fill(versions, problem(error, 'Listing the versions')));

  get('/api/policies/history?max=50').then((body) => {
    const events = body.events ?? [];
    fill(history, section('History', 2, events.length === 0
      ? notice('info', 'No activation yet.')
      : table('Policy history', ['When', 'What', 'Policy', 'Mode', 'By', 'Why'], events.map((e) => [
        time(e.at), words(e.action), `${e.id}@${e.version}`, e.mode ?? '', e.by, e.reason,
      ]))));
  }).catch((error) => fill(history, problem(error, 'Reading the history')));
  return null;
}

function slot(s) {
  return h('span', {}, h('a', { href: `#/policies/${segment(s.id)}/${segment(s.version)}`, text: `${s.id}@${s.version}` }),
    ' activated by ', s.activatedBy ?? '—', ' ', time(s.activatedAt), s.reason ? ` (${s.reason})` : '');
}

function renderVersion(main, id, version) {
  const body = h('div', {}, h('p', { class: 'loading', text: 'Loading…' }));
  fill(main, h('p', { class: 'crumbs' }, h('a', { href: '#/policies', text: 'Policies' }), ` › ${id}@${version}`),
    h('h1', { text: `Policy ${id}@${version}` }), body);
  get(`/api/policies/${segment(id)}/${segment(version)}`).then((p) => fill(body,
    facts([
      ['Active', p.active ? badge(p.active === 'enforce' ? 'good' : 'info', p.active === 'enforce' ? 'Enforced' : 'Shadow') : 'no'],
      ['Description', p.description],
      ['Content hash', digest(p.contentHash)],
      ['Saved by', p.savedBy],
      ['Saved', time(p.savedAt)],
    ]),
    section('Rules', 2, table('Rules', ['Rule', 'Effect', 'When', 'Approval', 'Description'], (p.rules ?? []).map((r) => [
      h('code', { text: r.id }),
      badge(r.effect === 'permit' ? 'good' : r.effect === 'forbid' ? 'bad' : 'warn', words(r.effect)),
      r.when ? h('code', { text: r.when }) : '—',
      r.approval ? `${r.approval.role}, quorum ${r.approval.quorum}, ${r.approval.timeoutSeconds} s then ${r.approval.onTimeout}` : '—',
      r.description ?? '',
    ]))),
    section('Text', 2, h('pre', { class: 'yaml', tabindex: '0', 'aria-label': 'Policy YAML' }, p.yaml))))
    .catch((error) => fill(body, problem(error, 'Reading the policy')));
  return null;
}

// POST /api/policies/simulate: the candidate YAML against the recorded decisions; every decision it would change.
function whatIf(announce) {
  const yaml = h('textarea', { id: 'whatif-yaml', rows: '12', spellcheck: 'false', class: 'mono', required: true });
  const since = h('input', { id: 'whatif-since', type: 'datetime-local' });
  const outcome = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Simulate' });
  const form = h('form', { on: { submit: async (event) => {
    event.preventDefault();
    await busy(submit, async () => {
      try {
        const path = withQuery('/api/policies/simulate', { since: since.value ? new Date(since.value).toISOString() : '' });
        const { data } = await call(path, { method: 'POST', body: yaml.value, contentType: 'application/yaml' });
        fill(outcome, simulation(data));
        announce(`The candidate would change ${data.changed ?? (data.changes ?? []).length} of ${data.evaluated} decisions.`);
      } catch (error) {
        fill(outcome, problem(error, 'Simulating'));
      }
    });
  } } },
  field('Candidate policy (YAML)', yaml, 'Nothing is stored or activated: recorded decisions are evaluated again with this text.'),
  field('Decisions since', since),
  h('div', { class: 'field actions' }, submit));
  const loadEnforced = h('button', { type: 'button', class: 'secondary', text: 'Start from the enforced policy', on: { click: async (e) => {
    await busy(e.currentTarget, async () => {
      const set = await get('/api/policies');
      if (set.enforced) {
        yaml.value = (await get(`/api/policies/${segment(set.enforced.id)}/${segment(set.enforced.version)}`)).yaml;
        yaml.focus();
      }
    });
  } } });
  return section('What if', 2, h('p', { text: 'Try a policy change on what already happened before you activate it.' }), loadEnforced, form, outcome);
}

function simulation(report) {
  const changes = report.changes ?? [];
  return h('div', {},
    notice(changes.length ? 'warn' : 'good', `${report.policy?.id}@${report.policy?.version}: ${report.summary ?? `${changes.length} of ${report.evaluated} decisions would change.`}`),
    changes.length === 0 ? null : table('Changed decisions', ['Run', 'Step', 'Tool', 'Decided', 'Recorded', 'Candidate'], changes.map((c) => [
      h('a', { href: `#/runs/${segment(c.runId)}`, class: 'mono', text: c.runId }),
      c.stepId,
      h('code', { text: c.tool }),
      time(c.decidedAt),
      `${words(c.recorded.effect)} by ${c.recorded.rule} (${c.recorded.policy})`,
      `${words(c.candidate.effect)} by ${c.candidate.rule}`,
    ])),
    h('details', {}, h('summary', { text: 'The whole report' }), json(report, 'Simulation report')));
}
