// The dashboard shell: sign-in, the navigation the caller's roles allow, the host's health, and a hash router that
// gives each page the main area and stops its refresh when the person leaves it.
import { ApiError, credential, get, signIn, signOut, whenUnauthorized } from './api.js';
import { announce, badge, fill, h, hasRole, notice, poll, problem, words } from './ui.js';
import * as runs from './pages/runs.js';
import * as run from './pages/run.js';
import * as approvals from './pages/approvals.js';
import * as monitors from './pages/monitors.js';
import * as agents from './pages/agents.js';
import * as policies from './pages/policies.js';
import * as controls from './pages/controls.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const whoami = document.getElementById('whoami');
const hostStatus = document.getElementById('host-status');

// Pages in navigation order; `may` says whether the caller's roles let them use it (the API decides in the end).
const pages = [
  { path: 'runs', label: 'Runs', page: runs, may: () => true },
  { path: 'approvals', label: 'Approvals', page: approvals, may: () => true },
  { path: 'monitors', label: 'Monitors', page: monitors, may: (me) => hasRole(me, 'operator', 'admin') },
  { path: 'agents', label: 'Agents', page: agents, may: () => true },
  { path: 'policies', label: 'Policies', page: policies, may: () => true },
  { path: 'controls', label: 'Kill switches', page: controls, may: (me) => hasRole(me, 'admin') },
];

let me = null;
let leave = null;

whenUnauthorized(() => {
  signOut();
  me = null;
  showSignIn('The API no longer accepts your credential. Sign in again.');
});

window.addEventListener('hashchange', () => route());

// A module script runs once the document is parsed, so the shell starts right away.
start();

function start() {
  poll(showHealth, { interval: 15000, max: 60000 });
  if (credential()) {
    enter();
  } else {
    showSignIn();
  }
}

async function enter() {
  try {
    me = await get('/api/me');
  } catch (error) {
    signOut();
    showSignIn(error instanceof ApiError && error.status === 401
      ? 'That credential was not accepted.'
      : `The API could not be reached: ${error.message}`);
    return;
  }
  renderWho();
  renderNav();
  route();
}

function showSignIn(message) {
  leave?.();
  leave = null;
  nav.hidden = true;
  fill(whoami);
  const kind = h('select', { id: 'signin-kind', name: 'kind' },
    h('option', { value: 'key', text: 'Key (x-functions-key)' }),
    h('option', { value: 'bearer', text: 'Bearer token (Entra ID)' }));
  const secret = h('input', { id: 'signin-secret', name: 'secret', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': 'signin-hint' });
  const form = h('form', { class: 'signin', on: { submit: async (event) => {
    event.preventDefault();
    signIn(kind.value, secret.value);
    secret.value = '';
    await enter();
  } } },
  h('h1', { text: 'Sign in' }),
  message ? notice('bad', message) : null,
  h('div', { class: 'field' }, h('label', { for: 'signin-kind', text: 'Sign in with' }), kind),
  h('div', { class: 'field' }, h('label', { for: 'signin-secret', text: 'Key or token' }), secret),
  h('p', { class: 'hint', id: 'signin-hint' },
    'A key is sent as the x-functions-key header, a token as Authorization: Bearer. It is kept in this tab only ',
    '(sessionStorage) until you sign out or close it. What the dashboard offers follows your roles; the API checks every call.'),
  h('button', { type: 'submit', class: 'primary', text: 'Sign in' }));
  fill(main, form);
  document.title = 'Sign in · Agentic Functions';
  secret.focus();
}

function renderWho() {
  const roles = me.roles?.length ? me.roles.join(', ') : 'no role';
  fill(whoami,
    h('span', { class: 'who' }, h('span', { class: 'visually-hidden', text: 'Signed in as ' }), h('strong', { text: me.principal }), ` (${roles})`),
    me.environment ? badge(me.environment === 'prod' ? 'warn' : 'muted', me.environment) : null,
    h('button', { type: 'button', class: 'link', text: 'Sign out', on: { click: () => {
      signOut();
      me = null;
      location.hash = '';
      showSignIn();
      announce('Signed out.');
    } } }));
}

function renderNav() {
  const allowed = pages.filter((p) => p.may(me));
  fill(nav, h('ul', {}, allowed.map((p) => h('li', {}, h('a', { href: `#/${p.path}`, id: `nav-${p.path}`, text: p.label })))));
  nav.hidden = false;
}

function route() {
  if (!me) {
    return;
  }
  // #/page/segment/...?name=value: links from elsewhere (an approval notification's link to the inbox) carry a query.
  const [hash, search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [path, ...rest] = hash.split('/');
  const target = pages.find((p) => p.path === (path || 'runs'));
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === `#/${target?.path}`) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
  leave?.();
  leave = null;
  main.replaceChildren();
  if (!target) {
    fill(main, h('h1', { text: 'Not found' }), notice('info', 'No page here. ', h('a', { href: '#/runs', text: 'Go to the runs' }), '.'));
    return;
  }
  if (!target.may(me)) {
    fill(main, h('h1', { text: target.label }), notice('info', `Your roles (${me.roles.join(', ') || 'none'}) do not include this page.`));
    return;
  }
  // A run's own page lives under #/runs/{id}.
  const page = target.path === 'runs' && rest.length > 0 ? run : target.page;
  try {
    leave = page.render(main, { me, params: rest.map(decodeURIComponent), query: new URLSearchParams(search), announce }) ?? null;
  } catch (error) {
    fill(main, problem(error, 'This page failed'));
  }
  // Move focus to the new content so keyboard and screen reader users start there.
  if (document.activeElement && document.activeElement !== document.body && !main.contains(document.activeElement)) {
    main.focus({ preventScroll: true });
  }
}

async function showHealth() {
  try {
    const response = await fetch('/api/health', { cache: 'no-store' });
    const body = await response.json().catch(() => ({}));
    const tone = body.status === 'ok' || body.status === 'healthy' ? 'good' : body.status === 'starting' ? 'warn' : 'bad';
    const checks = body.checks && typeof body.checks === 'object' ? Object.entries(body.checks) : [];
    const label = `Host ${words(body.status ?? response.status)}`;
    fill(hostStatus, checks.length === 0
      ? badge(tone, label)
      : h('details', { class: 'health' }, h('summary', {}, badge(tone, label)),
        h('ul', {}, checks.map(([name, check]) => h('li', {}, badge(check.status === 'ok' || check.status === 'healthy' ? 'good' : 'bad', `${name}: ${words(check.status)}`), check.reason ? ` ${check.reason}` : '')))));
  } catch {
    fill(hostStatus, badge('bad', 'Host unreachable'));
    throw new Error('unreachable');
  }
}
