// Small building blocks every page uses: elements built without innerHTML (the API's text is never parsed as markup),
// status badges that say their state in words as well as colour, times, polling with back-off and announcements.

/**
 * Creates an element. `attributes` may hold `class`, `text`, `on` ({ click: fn }), boolean attributes (true / false)
 * and anything else as an attribute; children are nodes, strings, or arrays of them (null and false are skipped).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name === 'text') {
      element.textContent = String(value);
    } else if (name === 'on') {
      for (const [event, handler] of Object.entries(value)) {
        element.addEventListener(event, handler);
      }
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    if (Array.isArray(child)) {
      append(element, child);
    } else {
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
}

/** Replaces everything inside `element`. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

// Each tone has a symbol and a word, so the state reads without colour (and in a screen reader).
const tones = {
  good: '✓',
  bad: '✕',
  warn: '!',
  info: '●',
  muted: '–',
};

/** A badge: a tone (good, bad, warn, info, muted) and the words that say the state. */
export function badge(tone, label, extraClass) {
  return h('span', { class: `badge badge-${tone}${extraClass ? ` ${extraClass}` : ''}` },
    h('span', { class: 'badge-symbol', 'aria-hidden': 'true', text: tones[tone] ?? '●' }), label);
}

/** The badge of a run's status (and phase while it waits for someone). */
export function runStatus(status, phase) {
  if (status === 'running' && phase === 'AwaitingApproval') {
    return badge('warn', 'Waiting for approval', 'status');
  }
  switch (status) {
    case 'completed': return badge('good', 'Completed', 'status');
    case 'failed': return badge('bad', 'Failed', 'status');
    case 'terminated': return badge('muted', 'Terminated', 'status');
    case 'running': return badge('info', phase ? `Running: ${words(phase)}` : 'Running', 'status');
    default: return badge('muted', status ? words(status) : 'Unknown', 'status');
  }
}

/** "AwaitingApproval" -> "awaiting approval", "require-approval" -> "require approval". */
export function words(name) {
  return String(name).replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[-_]/g, ' ').toLowerCase();
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** A <time> with the local date and time, the exact UTC time as its machine value. */
export function time(value, { short = false } = {}) {
  if (!value) {
    return h('span', { class: 'muted', text: '—' });
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    return h('span', { text: String(value) });
  }
  const sameDay = new Date().toDateString() === date.toDateString();
  return h('time', { datetime: date.toISOString(), title: date.toISOString(), text: short && sameDay ? timeOnly.format(date) : dateTime.format(date) });
}

/** How long until (or since) a time, in words: "in 12 min", "3 h ago". */
export function relative(value) {
  const seconds = Math.round((new Date(value).getTime() - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  const [amount, unit] = abs < 90 ? [abs, 's'] : abs < 5400 ? [Math.round(abs / 60), 'min'] : abs < 172800 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd'];
  return seconds >= 0 ? `in ${amount} ${unit}` : `${amount} ${unit} ago`;
}

/** A digest shortened for reading, the whole value in a tooltip and for copying. */
export function digest(value) {
  if (!value) {
    return h('span', { class: 'muted', text: '—' });
  }
  const text = String(value);
  return h('code', { class: 'digest', title: text, text: text.length > 23 ? `${text.slice(0, 23)}…` : text });
}

/** A definition list from [term, value] pairs; pairs whose value is null are left out. */
export function facts(pairs, className = 'facts') {
  return h('dl', { class: className }, pairs.filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([term, value]) => h('div', {}, h('dt', { text: term }), h('dd', {}, value))));
}

/** Pretty JSON in a scrollable block, labelled for assistive technology. */
export function json(value, label) {
  return h('pre', { class: 'json', tabindex: '0', 'aria-label': label ?? 'JSON' }, JSON.stringify(value, null, 2));
}

/** A notice: tone good, bad, warn or info. */
export function notice(tone, ...children) {
  return h('div', { class: `notice notice-${tone}`, role: tone === 'bad' ? 'alert' : null }, children);
}

/** What an error from the API means to a person, with the fields it names. */
export function problem(error, what) {
  const fields = error?.errors?.length
    ? h('ul', {}, error.errors.map((e) => h('li', {}, h('code', { text: e.field }), `: ${e.message}`)))
    : null;
  return notice('bad', h('strong', { text: what ? `${what}: ${error?.title ?? 'failed'}` : error?.title ?? 'Something went wrong' }),
    h('p', { text: error?.message ?? String(error) }), fields);
}

/** The state of a view whose route this host does not serve. */
export function notServed(what) {
  return notice('info', h('strong', { text: `${what} is not available on this host.` }),
    h('p', { text: 'This host does not serve the route the view needs; the rest of the dashboard works as usual.' }));
}

/** Says `message` to screen readers (the page shows it too, where it matters). */
export function announce(message) {
  const announcer = document.getElementById('announcer');
  announcer.textContent = '';
  // A new text node after a tick, so the same message twice is announced twice.
  setTimeout(() => { announcer.textContent = message; }, 50);
}

/**
 * Calls `task` now and again after `interval` ms while `keepGoing()` holds; after a failure the wait doubles up to
 * `max`, and it returns to `interval` once a call succeeds. A hidden tab waits `max`. Answers a function that stops it.
 */
export function poll(task, { interval = 2000, max = 30000, keepGoing = () => true } = {}) {
  let stopped = false;
  let timer = null;
  let wait = interval;
  const run = async () => {
    if (stopped) {
      return;
    }
    try {
      await task();
      wait = interval;
    } catch {
      wait = Math.min(wait * 2, max);
    }
    if (!stopped && keepGoing()) {
      timer = setTimeout(run, document.visibilityState === 'hidden' ? max : wait);
    }
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** A labelled form field: the label, the control, and an optional hint linked by aria-describedby. */
export function field(label, control, hint) {
  const id = control.id || (control.id = `f-${Math.random().toString(36).slice(2, 9)}`);
  const hintElement = hint ? h('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  if (hintElement) {
    control.setAttribute('aria-describedby', hintElement.id);
  }
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), control, hintElement);
}

/** A <select> of [value, label] options. */
export function select(options, attributes = {}) {
  return h('select', attributes, options.map(([value, label]) => h('option', { value, text: label })));
}

/** Disables a button while `work` runs, so a click is not sent twice. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** A section with a heading at `level`. */
export function section(title, level, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { class: 'panel', 'aria-labelledby': id }, h(`h${level}`, { id, text: title }), children);
}

/** The roles a signed-in person holds, lower-cased. */
export function hasRole(me, ...roles) {
  const held = (me?.roles ?? []).map((r) => r.toLowerCase());
  return roles.some((r) => held.includes(r));
}

/** Principal ids compared as the API does, closely enough for what the page offers (the API decides). */
export function samePrincipal(a, b) {
  const norm = (s) => String(s ?? '').normalize('NFKC').replace(/\p{Cf}/gu, '').toLowerCase();
  return norm(a) === norm(b);
}

/**
 * A table in a scrollable, labelled region: `headers` are column names, `rows` arrays of cell contents (or, with
 * `rowAttributes`, the attributes of each row from its item).
 */
export function table(label, headers, rows, { className, items, rowAttributes } = {}) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': label },
    h('table', { class: className },
      h('thead', {}, h('tr', {}, headers.map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, rows.map((cells, i) => h('tr', rowAttributes && items ? rowAttributes(items[i]) : {}, cells.map((cell) => h('td', {}, cell)))))));
}
