// Agents: the agents offered (version, where it comes from, autonomy, planner, tools, signals) and each agent's planning drift
// where the host reports it.
import { ApiError, get, segment } from '../api.js';
import { badge, digest, facts, fill, h, hasRole, json, notice, problem, time, words } from '../ui.js';

export function render(main, { me } = {}) {
  // Drift is for operators and admins (the API answers anyone else 403): others are not offered it.
  const seesDrift = hasRole(me, 'operator') || hasRole(me, 'admin');
  const list = h('div', {}, h('p', { class: 'loading', text: 'Loading the agents…' }));
  fill(main, h('h1', { text: 'Agents' }), list);
  get('/api/agents').then((agents) => {
    fill(list, (agents ?? []).length === 0 ? notice('info', 'No agents are configured.') : h('ul', { class: 'cards' }, agents.map((agent) => card(agent, seesDrift))));
  }).catch((error) => fill(list, problem(error, 'Reading the agents')));
  return null;
}

function card(agent, seesDrift) {
  const headingId = `agent-${agent.name}`.replace(/[^A-Za-z0-9_-]/g, '-');
  const drift = seesDrift ? h('div', {}, h('p', { class: 'muted', text: 'Reading drift…' })) : null;
  if (drift) {
    get(`/api/agents/${segment(agent.name)}/drift`).then((report) => fill(drift, driftOf(report)))
      .catch((error) => fill(drift, error instanceof ApiError && error.notServed
        ? h('p', { class: 'muted', text: 'Drift is not available on this host.' })
        : problem(error, 'Reading drift')));
  }
  return h('li', { class: 'panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, agent.name, ' ', badge(agent.autonomy === 'autonomous' ? 'warn' : 'info', words(agent.autonomy))),
    agent.description ? h('p', { text: agent.description }) : null,
    facts([
      ['Version', agent.version],
      ['Source', agent.source === 'uploaded'
        ? ['uploaded by ', agent.uploadedBy, ', activated by ', agent.activatedBy, ' ', time(agent.activatedAt, { short: true }), agent.reason ? `: ${agent.reason}` : '']
        : 'shipped with the deployment'],
      ['Definition hash', digest(agent.hash)],
      ['Planner', agent.planner],
      ['Tools', (agent.tools ?? []).map((t, i) => [i ? ', ' : '', h('code', { text: t })])],
      ['Signals', (agent.signals ?? []).map((s) => `${s.name && s.name !== s.kind ? `${s.name}: ` : ''}${s.kind}${s.path ? ` ${s.path}` : ''}${s.trusted ? ' (trusted)' : ''}`).join(', ')],
    ]),
    drift ? [h('h3', { text: 'Drift' }), drift] : null);
}

// Drift reports what planners proposed that the deployment did not want, per planner origin; shown as the host words it.
function driftOf(report) {
  const rows = Array.isArray(report?.origins) ? report.origins : Array.isArray(report?.planners) ? report.planners : null;
  if (!rows) {
    return h('details', {}, h('summary', { text: 'Drift report' }), json(report, 'Drift report'));
  }
  if (rows.length === 0) {
    return h('p', {}, badge('good', 'No drift recorded'));
  }
  return h('ul', {}, rows.map((row) => h('li', {},
    h('code', { text: row.planner ?? row.origin ?? '' }), ' ',
    row.drifting || row.alert ? badge('bad', 'Drifting') : badge('good', 'Within bounds'),
    h('details', {}, h('summary', { text: 'Details' }), json(row, 'Drift details')))));
}
