// One run from signal to outcome: what it perceived, its plan and rationale, each decision with its rule and policy
// version, approvals with who and when, actions and results, compensations, and its audit chain with lineage links
// and verification. The approval it waits for can be decided here. Refreshes live until the run ends.
import { ApiError, call, get, segment, withQuery } from '../api.js';
import {
  badge, busy, digest, facts, field, fill, h, hasRole, json, notice, poll, problem, runStatus, samePrincipal, section, time, words,
} from '../ui.js';

export function render(main, { me, params, announce }) {
  const [id, view, recordId] = params;
  const heading = h('h1', {}, 'Run ', h('span', { class: 'mono', text: id }));
  const statusSlot = h('div', { class: 'status-slot', 'aria-live': 'polite' });
  const auditSlot = h('div', { class: 'audit-slot' });
  const summary = h('div');
  const approval = h('div');
  const terminate = h('div');
  const timeline = h('div');
  const steps = h('div');
  const audit = h('div');
  const lineage = h('div');
  const drawn = {};
  let running = true;

  // Redraws a part only when what it shows changed, so focus and a half-typed comment survive a refresh.
  const update = (part, key, draw) => {
    const text = JSON.stringify(key);
    if (drawn[part] !== text) {
      drawn[part] = text;
      draw();
    }
  };

  fill(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/runs', text: 'Runs' }), ' › ', h('span', { class: 'mono', text: id })),
    h('div', { class: 'page-head' }, heading, statusSlot, auditSlot),
    lineage, approval, summary, terminate, timeline, steps, audit);

  const refresh = async () => {
    let runDoc;
    let status;
    try {
      ({ data: runDoc, status } = await call(`/api/runs/${segment(id)}`));
    } catch (error) {
      // A run started a moment ago (from the queue, a monitor) may not be there yet: keep looking, less often.
      fill(summary, error instanceof ApiError && error.status === 404
        ? notice('info', `No run with id ${id} that you may read (yet): looking again.`)
        : problem(error, 'Reading the run'));
      throw error;
    }
    running = status === 202;
    update('status', [runDoc.status, runDoc.phase], () => fill(statusSlot, runStatus(runDoc.status, runDoc.phase)));
    update('summary', [runDoc.status, runDoc.updatedAt, runDoc.toolCalls, runDoc.output, runDoc.failureReason], () => fill(summary, summaryOf(runDoc)));
    update('approval', [runDoc.pendingApproval], () => fill(approval, approvalPanel(runDoc, me, announce, refresh)));
    update('terminate', [runDoc.status], () => fill(terminate, runDoc.status === 'running' ? terminatePanel(runDoc, announce, refresh) : null));
    update('timeline', [runDoc.log], () => fill(timeline, timelineOf(runDoc)));
    update('steps', [runDoc.steps, runDoc.observation], () => fill(steps, stepsOf(runDoc)));
    await refreshAudit(runDoc);
  };

  const refreshAudit = async (runDoc) => {
    let records;
    let verification;
    try {
      [records, verification] = await Promise.all([
        get(`/api/runs/${segment(id)}/audit`),
        get(`/api/runs/${segment(id)}/audit/verify`),
      ]);
    } catch (error) {
      update('audit', ['error', error.message], () => fill(audit, section('Audit', 2, problem(error, 'Reading the audit'))));
      throw error;
    }
    update('audit', [records.count, records.head, verification.valid, verification.covered, runDoc.status], () => {
      fill(audit, auditOf(id, records, verification, runDoc));
      fill(auditSlot, h('a', { href: '#audit', class: 'badge-link', on: { click: (event) => {
        event.preventDefault();
        audit.scrollIntoView();
        audit.querySelector('h2')?.focus();
      } } }, auditBadge(verification)));
    });
  };

  if (view === 'lineage' && recordId) {
    showLineage(lineage, id, recordId);
  }

  const stop = poll(refresh, { interval: 2000, max: 10000, keepGoing: () => running });
  return stop;
}

function summaryOf(run) {
  return section('Summary', 2, facts([
    ['Agent', run.agent],
    ['Target', h('span', { class: 'target', text: run.target })],
    ['Requested by', run.principal],
    ['Started by monitor', run.monitor
      ? [h('a', { href: '#/monitors', text: run.monitor.monitor }), ' at its tick of ', time(run.monitor.tick), ', incident ', h('code', { text: run.monitor.incident })]
      : null],
    ['Environment', run.environment],
    ['Autonomy', run.autonomy],
    ['Goal', run.goal],
    ['Created', time(run.createdAt)],
    ['Updated', time(run.updatedAt)],
    ['Tool calls', run.toolCalls],
    ['Budget used', run.budgetUsed],
    ['Outcome', run.output ? `${words(run.output.outcome)}: ${run.output.summary}` : null],
    ['Failure', run.failureReason],
  ]));
}

// The approval the run waits for: exact arguments and digest, the rule and policy version, the deadline, who else
// approved; approve or reject with a comment when the caller may.
function approvalPanel(run, me, announce, refresh) {
  const pending = run.pendingApproval;
  if (!pending) {
    return null;
  }
  const step = (run.steps ?? []).find((s) => s.stepId === pending.stepId) ?? {};
  const decision = step.decision ?? {};
  const approvedBy = pending.approvedBy ?? [];
  const role = pending.approverRole;
  const reasons = [];
  if (samePrincipal(me.principal, run.principal)) {
    reasons.push('You requested this run, so someone else must decide.');
  }
  if (role && !hasRole(me, role)) {
    reasons.push(`Deciding needs the role ${role}; you hold ${me.roles.join(', ') || 'no role'}.`);
  }
  if (approvedBy.some((a) => samePrincipal(a, me.principal))) {
    reasons.push('You approved this step already.');
  }
  const comment = h('textarea', { id: 'approval-comment', name: 'comment', rows: '3', maxlength: '1000' });
  const outcome = h('div', { 'aria-live': 'polite' });
  const decide = async (button, verdict) => busy(button, async () => {
    try {
      const { data } = await call(`/api/runs/${segment(run.id)}/approvals/${segment(pending.stepId)}`, {
        method: 'POST', body: { decision: verdict, comment: comment.value.trim() || undefined },
      });
      const said = verdict === 'approve' ? 'Approved' : 'Rejected';
      fill(outcome, notice('good', `${said} ${pending.stepId} as ${data?.approver ?? me.principal}. ${data?.detail ?? ''}`));
      announce(`${said} step ${pending.stepId}.`);
      comment.value = '';
      refresh().catch(() => {});
    } catch (error) {
      fill(outcome, problem(error, verdict === 'approve' ? 'Approving' : 'Rejecting'));
    }
  });
  const controls = reasons.length > 0
    ? notice('info', ...reasons.map((r) => h('p', { text: r })))
    : h('form', { class: 'decide', on: { submit: (e) => e.preventDefault() } },
      field('Comment', comment, 'Recorded with your decision in the run\'s audit trail.'),
      h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'approve', text: 'Approve', on: { click: (e) => decide(e.currentTarget, 'approve') } }),
        h('button', { type: 'button', class: 'reject', text: 'Reject', on: { click: (e) => decide(e.currentTarget, 'reject') } })));
  return h('section', { class: 'panel approval', 'aria-labelledby': 'approval-heading' },
    h('h2', { id: 'approval-heading' }, badge('warn', 'Waiting for approval'), ` ${pending.stepId} `, h('code', { text: pending.tool })),
    facts([
      ['Rule', pending.rule ?? decision.rule],
      ['Policy', pending.policy ?? (decision.policyId ? `${decision.policyId}@${decision.policyVersion}` : null)],
      ['Reason', decision.reason],
      ['Approver role', role],
      ['Quorum', pending.quorum ? `${approvedBy.length} of ${pending.quorum} approved` : null],
      ['Approved by', approvedBy.length ? approvedBy.join(', ') : 'nobody yet'],
      ['Deadline', pending.deadline ? [time(pending.deadline), ` (${relativeText(pending.deadline)})`] : null],
      ['Escalated', pending.escalated ? 'yes' : null],
      ['Argument digest', h('code', { class: 'digest-full', text: pending.argsDigest })],
    ]),
    h('h3', { text: 'Exact arguments' }),
    step.arguments !== undefined ? json(step.arguments, `Arguments of ${pending.stepId}`) : h('p', { text: pending.argsSummary ?? '—' }),
    controls,
    outcome);
}

// Stops the run through the workflow, which records who and why (the API lets the requester, operators and admins).
function terminatePanel(run, announce, refresh) {
  const reason = h('input', { id: 'terminate-reason', type: 'text', maxlength: '500', autocomplete: 'off' });
  const outcome = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'danger', text: 'Terminate run', on: { click: () => busy(button, async () => {
    try {
      await call(withQuery(`/api/runs/${segment(run.id)}/terminate`, { reason: reason.value.trim() }), { method: 'POST' });
      fill(outcome, notice('good', 'Asked the run to stop; it records who and why.'));
      announce('Run terminating.');
      refresh().catch(() => {});
    } catch (error) {
      fill(outcome, problem(error, 'Terminating'));
    }
  }) } });
  return h('details', { class: 'panel terminate' }, h('summary', { text: 'Terminate this run' }),
    h('div', { class: 'inline-form' }, field('Reason', reason, 'Recorded in the run\'s log and audit.'), h('div', { class: 'field actions' }, button)),
    outcome);
}

function relativeText(value) {
  const minutes = Math.round((new Date(value).getTime() - Date.now()) / 60000);
  return minutes >= 0 ? `in ${minutes} min` : `${-minutes} min ago`;
}

const kinds = {
  started: ['info', 'Started'],
  perceived: ['info', 'Perceived'],
  planned: ['info', 'Planned'],
  decided: ['info', 'Decided'],
  'awaiting-approval': ['warn', 'Waiting for approval'],
  notified: ['info', 'Notified'],
  approved: ['good', 'Approved'],
  rejected: ['bad', 'Rejected'],
  escalated: ['warn', 'Escalated'],
  acted: ['good', 'Acted'],
  observed: ['info', 'Observed'],
  replanning: ['warn', 'Replanning'],
  compensating: ['warn', 'Compensating'],
  compensated: ['warn', 'Compensated'],
  completed: ['good', 'Completed'],
  failed: ['bad', 'Failed'],
  terminated: ['muted', 'Terminated'],
};

function timelineOf(run) {
  const log = run.log ?? [];
  return section('Timeline', 2, log.length === 0
    ? notice('info', 'Nothing has happened yet.')
    : h('ol', { class: 'timeline' }, log.map((entry) => {
      const [tone, label] = kinds[entry.kind] ?? ['muted', words(entry.kind)];
      return h('li', { class: `tl tl-${tone}` },
        h('div', { class: 'tl-when' }, time(entry.at, { short: true })),
        h('div', { class: 'tl-what' }, badge(tone, label), entry.stepId ? h('code', { class: 'tl-step', text: entry.stepId }) : null,
          h('p', { text: entry.message })));
    })));
}

const effects = { permit: ['good', 'Permitted'], forbid: ['bad', 'Forbidden'], 'require-approval': ['warn', 'Approval required'] };
const stepTones = { Succeeded: 'good', Failed: 'bad', Denied: 'bad', Rejected: 'bad', AwaitingApproval: 'warn', Compensated: 'warn', Skipped: 'muted', Pending: 'muted', Gating: 'info', Acting: 'info' };

function stepsOf(run) {
  const observation = run.observation;
  return [
    observation ? section('Observation', 2, facts([
      ['Source', observation.source],
      ['Status', badge(observation.healthy ? 'good' : 'bad', observation.healthy ? `healthy (${observation.status})` : `unhealthy (${observation.status})`)],
      ['Observed', time(observation.observedAt)],
      ['Evidence digest', digest(observation.digest)],
    ])) : null,
    section('Plan, decisions and actions', 2, (run.steps ?? []).length === 0
      ? notice('info', 'No plan yet.')
      : h('ol', { class: 'steps' }, run.steps.map((step) => stepCard(step)))),
  ];
}

function stepCard(step) {
  const decision = step.decision;
  const [effectTone, effectLabel] = decision ? effects[decision.effect] ?? ['muted', words(decision.effect)] : [];
  const result = step.result;
  const approval = step.approval;
  const isUndo = step.stepId.startsWith('undo.');
  return h('li', { class: 'step', id: `step-${step.stepId}` },
    h('h3', {}, h('code', { text: step.stepId }), ' ', h('span', { text: step.tool }), ' ',
      badge(stepTones[step.status] ?? 'info', words(step.status)), isUndo ? badge('warn', 'Compensation') : null),
    step.rationale ? h('p', { class: 'rationale' }, h('span', { class: 'label', text: 'Rationale: ' }), step.rationale) : null,
    step.arguments !== undefined ? h('details', {}, h('summary', {}, 'Arguments ', digest(step.argsDigest)), json(step.arguments, `Arguments of ${step.stepId}`)) : null,
    decision ? h('div', { class: 'decision' }, h('h4', { text: 'Decision' }), facts([
      ['Effect', badge(effectTone, effectLabel)],
      ['Rule', h('code', { text: decision.rule })],
      ['Policy', `${decision.policyId}@${decision.policyVersion}`],
      ['Reason', decision.reason],
      ['Decided', time(decision.decidedAt)],
      ['Shadow policy', decision.shadow ? `${decision.shadow.policyId ?? ''}@${decision.shadow.policyVersion ?? ''}: ${words(decision.shadow.effect ?? '')} by ${decision.shadow.rule ?? ''}` : null],
    ])) : null,
    approval ? h('div', { class: 'approval-record' }, h('h4', { text: 'Approval' }), facts([
      ['Decision', badge(approval.decision === 'approve' ? 'good' : 'bad', approval.decision === 'approve' ? 'Approved' : 'Rejected')],
      ['By', `${approval.approver} (${(approval.roles ?? []).join(', ')})`],
      ['When', time(approval.decidedAt)],
      ['Comment', approval.comment],
    ])) : null,
    result || step.error ? h('div', { class: 'result' }, h('h4', { text: 'Action' }), facts([
      ['Result', result ? result.summary : null],
      ['Status code', result?.statusCode],
      ['Tool version', result ? `${result.tool}@${result.toolVersion}` : null],
      ['Replayed', result?.replayed ? 'yes (the ledger answered; nothing was called twice)' : null],
      ['Compensation', result?.compensation ? `${result.compensation.tool}` : null],
      ['Error', step.error],
    ])) : null);
}

function auditBadge(verification) {
  if (!verification.valid) {
    return badge('bad', 'Audit broken');
  }
  return verification.covered ? badge('good', 'Audit verified') : badge('warn', 'Audit not yet signed');
}

function auditOf(id, records, verification, run) {
  const chain = verification.chain ?? {};
  let state;
  if (!verification.valid) {
    const broken = chain.broken;
    state = notice('bad', h('p', {}, badge('bad', 'Audit broken'),
      broken ? ` at position ${broken.position}: ${broken.reason}` : ' The chain or its checkpoints do not verify.'),
    broken?.expected ? h('p', {}, 'Expected ', h('code', { text: broken.expected }), ', found ', h('code', { text: broken.found ?? '—' })) : null);
  } else if (verification.covered) {
    state = notice('good', h('p', {}, badge('good', 'Audit verified'),
      ` ${chain.records} records; the chain is intact and signed by checkpoint ${chain.coverage?.checkpoint} (key ${chain.coverage?.keyId}), inclusion proof valid.`));
  } else {
    state = notice('warn', h('p', {}, badge('warn', 'Audit valid, not yet signed'),
      run.status === 'running' ? ` ${chain.records} records so far; the run's end signs them into a checkpoint.` : ` ${chain.uncovered} records wait for the next checkpoint.`));
  }
  const list = records.records ?? [];
  const panel = section('Audit', 2, state,
    facts([['Records', records.count], ['Head', digest(records.head)]]),
    list.length === 0 ? null : h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Audit records' },
      h('table', { class: 'audit' },
        h('thead', {}, h('tr', {}, ['#', 'Record', 'Kind', 'When', 'Derived from', 'Hash'].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, list.map((r) => h('tr', {},
          h('td', { text: r.seq }),
          h('td', {}, h('a', { href: `#/runs/${segment(id)}/lineage/${segment(r.id)}`, class: 'mono', text: r.id, 'aria-label': `Lineage of ${r.id}` })),
          h('td', { text: r.kind }),
          h('td', {}, time(r.at, { short: true })),
          h('td', { class: 'mono', text: (r.derivedFrom ?? []).join(', ') || '—' }),
          h('td', {}, digest(r.hash))))))));
  panel.querySelector('h2').setAttribute('tabindex', '-1');
  return panel;
}

async function showLineage(target, id, recordId) {
  fill(target, h('p', { class: 'loading', text: `Loading the lineage of ${recordId}…` }));
  try {
    const lineage = await get(`/api/runs/${segment(id)}/lineage/${recordId.split('/').map(segment).join('/')}`);
    const link = (r) => h('li', {}, h('a', { href: `#/runs/${segment(id)}/lineage/${segment(r.id)}`, class: 'mono', text: r.id }), ` ${r.kind} · `, time(r.at, { short: true }));
    fill(target, h('section', { class: 'panel lineage', 'aria-labelledby': 'lineage-heading' },
      h('h2', { id: 'lineage-heading' }, 'Lineage of ', h('code', { text: lineage.record.id })),
      h('p', {}, h('a', { href: `#/runs/${segment(id)}`, text: 'Close lineage' })),
      h('div', { class: 'lineage-grid' },
        h('div', {}, h('h3', { text: 'Derives from (back to the signal)' }), lineage.ancestors.length ? h('ul', {}, lineage.ancestors.map(link)) : h('p', { class: 'muted', text: 'Nothing: this is where the run starts.' })),
        h('div', {}, h('h3', { text: 'This record' }), facts([['Kind', lineage.record.kind], ['When', time(lineage.record.at)], ['Hash', digest(lineage.record.hash)]]), json(lineage.record.data, `Data of ${lineage.record.id}`)),
        h('div', {}, h('h3', { text: 'Led to' }), lineage.descendants.length ? h('ul', {}, lineage.descendants.map(link)) : h('p', { class: 'muted', text: 'Nothing yet.' })))));
    target.querySelector('h2')?.setAttribute('tabindex', '-1');
    target.querySelector('h2')?.focus();
  } catch (error) {
    fill(target, problem(error, `Reading the lineage of ${recordId}`));
  }
}
