// The approvals inbox: every step waiting for a decision the caller may give, with the exact arguments and their digest,
// the rule, the deadline and who else approved; approve or reject with a comment. Refreshes live.
import { ApiError, call, get, segment } from '../api.js';
import { badge, busy, facts, field, fill, h, json, notice, notServed, poll, problem, relative, time } from '../ui.js';

export function render(main, { me, query, announce }) {
  const list = h('div');
  const updated = h('p', { class: 'updated muted' });
  const shown = new Map();
  // Exact arguments per run, step and digest: fetched once from the run's document.
  const argumentsOf = new Map();
  let served = true;
  // A notification links to one step (?run=&step=): that card is pointed out and focused once it is listed.
  const wanted = query?.get('run') && query?.get('step') ? { run: query.get('run'), step: query.get('step') } : null;
  let pointed = false;
  const wantedNote = h('div');

  fill(main, h('div', { class: 'page-head' }, h('h1', { text: 'Approvals' }), updated),
    h('p', { class: 'lede', text: 'Steps waiting for a decision you may give: your role, not your own runs, not answered by you yet.' }),
    wantedNote, list);

  const refresh = async () => {
    let page;
    try {
      page = await get('/api/approvals?status=pending');
    } catch (error) {
      if (error instanceof ApiError && error.notServed) {
        served = false;
        fill(list, notServed('The approvals inbox'), h('p', {}, 'Runs waiting for approval show it on their own page: ', h('a', { href: '#/runs', text: 'open the runs' }), '.'));
        return;
      }
      fill(list, problem(error, 'Listing approvals'));
      throw error;
    }
    const approvals = page?.approvals ?? [];
    fill(updated, 'Updated ', time(new Date().toISOString(), { short: true }));
    const keys = new Set(approvals.map(keyOf));
    // Cards that are decided go; new ones are added; a card being worked on stays as it is.
    for (const [key, card] of shown) {
      if (!keys.has(key)) {
        card.remove();
        shown.delete(key);
      }
    }
    if (approvals.length === 0) {
      pointOut(approvals);
      if (!list.querySelector('.empty')) {
        fill(list, notice('info', h('span', { class: 'empty', text: 'Nothing is waiting for you.' })));
      }
      return;
    }
    list.querySelector('.empty')?.closest('.notice')?.remove();
    let container = list.querySelector('ul.approvals');
    if (!container) {
      container = h('ul', { class: 'approvals' });
      list.append(container);
    }
    for (const approval of approvals) {
      const key = keyOf(approval);
      if (!shown.has(key)) {
        const card = approvalCard(approval, me, announce, argumentsOf, () => refresh().catch(() => {}));
        shown.set(key, card);
        container.append(card);
      }
    }
    pointOut(approvals);
  };

  const pointOut = (approvals) => {
    if (!wanted || pointed) {
      return;
    }
    pointed = true;
    const match = approvals.find((a) => a.runId === wanted.run && a.stepId === wanted.step);
    if (!match) {
      fill(wantedNote, notice('info', `Step ${wanted.step} of run ${wanted.run} is not waiting for you: it was decided, or it is not yours to decide. `,
        h('a', { href: `#/runs/${segment(wanted.run)}`, text: 'Open the run' }), '.'));
      return;
    }
    const card = shown.get(keyOf(match));
    card.classList.add('wanted');
    const heading = card.querySelector('h2');
    heading.setAttribute('tabindex', '-1');
    heading.focus();
    card.scrollIntoView({ block: 'start' });
  };

  return poll(refresh, { interval: 3000, max: 30000, keepGoing: () => served });
}

const keyOf = (a) => `${a.runId}/${a.stepId}/${a.argsDigest}/${(a.approvedBy ?? []).join(',')}`;

function approvalCard(a, me, announce, argumentsOf, refresh) {
  const argsSlot = h('div', {}, h('p', { class: 'mono', text: a.argsSummary ?? '' }));
  const argsKey = `${a.runId}/${a.stepId}/${a.argsDigest}`;
  const showArgs = (args) => fill(argsSlot, json(args, `Arguments of ${a.stepId} in ${a.runId}`));
  if (argumentsOf.has(argsKey)) {
    showArgs(argumentsOf.get(argsKey));
  } else {
    get(`/api/runs/${segment(a.runId)}`).then((run) => {
      const step = (run?.steps ?? []).find((s) => s.stepId === a.stepId && s.argsDigest === a.argsDigest);
      if (step && step.arguments !== undefined) {
        argumentsOf.set(argsKey, step.arguments);
        showArgs(step.arguments);
      }
    }).catch(() => {});
  }
  const commentId = `comment-${a.runId}-${a.stepId}`.replace(/[^A-Za-z0-9_-]/g, '-');
  const comment = h('textarea', { id: commentId, rows: '2', maxlength: '1000' });
  const outcome = h('div', { 'aria-live': 'polite' });
  const decide = (button, verdict) => busy(button, async () => {
    try {
      const { data } = await call(`/api/runs/${segment(a.runId)}/approvals/${segment(a.stepId)}`, {
        method: 'POST', body: { decision: verdict, comment: comment.value.trim() || undefined },
      });
      const said = verdict === 'approve' ? 'Approved' : 'Rejected';
      fill(outcome, notice('good', `${said} as ${data?.approver ?? me.principal}.`));
      announce(`${said} ${a.stepId} of run ${a.runId}.`);
      refresh();
    } catch (error) {
      fill(outcome, problem(error, verdict === 'approve' ? 'Approving' : 'Rejecting'));
    }
  });
  const headingId = `h-${commentId}`;
  return h('li', { class: 'panel approval-card', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, badge('warn', 'Waiting'), ' ', h('code', { text: a.tool }), ` ${a.stepId} of `,
      h('a', { href: `#/runs/${segment(a.runId)}`, class: 'mono', text: a.runId })),
    facts([
      ['Agent', a.agent],
      ['Target', h('span', { class: 'target', text: a.target })],
      ['Requested by', a.requester],
      ['Rule', a.rule ? h('code', { text: a.rule }) : null],
      ['Policy', a.policy],
      ['Approver role', a.approverRole],
      ['Quorum', `${(a.approvedBy ?? []).length} of ${a.quorum} approved`],
      ['Who else approved', (a.approvedBy ?? []).length ? a.approvedBy.join(', ') : 'nobody yet'],
      ['Deadline', a.deadline ? [time(a.deadline), ` (${relative(a.deadline)})`] : null],
      ['Escalated', a.escalated ? 'yes' : null],
      ['Argument digest', h('code', { class: 'digest-full', text: a.argsDigest })],
    ]),
    h('h3', { text: 'Exact arguments' }), argsSlot,
    h('form', { class: 'decide', on: { submit: (e) => e.preventDefault() } },
      field('Comment', comment),
      h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'approve', text: 'Approve', on: { click: (e) => decide(e.currentTarget, 'approve') } }),
        h('button', { type: 'button', class: 'reject', text: 'Reject', on: { click: (e) => decide(e.currentTarget, 'reject') } }))),
    outcome);
}
