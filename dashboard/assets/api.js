// The dashboard's only way to the API: same origin, the signed-in credential on every call, problems as errors.
// The credential lives in sessionStorage (this tab, until it closes or the person signs out), never in a cookie or a URL.

const storageKey = 'agentic.credential';

/** The signed-in credential: { kind: 'key' | 'bearer', value }, or null. */
export function credential() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(storageKey) ?? 'null');
    return stored && (stored.kind === 'key' || stored.kind === 'bearer') && typeof stored.value === 'string' ? stored : null;
  } catch {
    return null;
  }
}

export function signIn(kind, value) {
  sessionStorage.setItem(storageKey, JSON.stringify({ kind, value: value.trim() }));
}

export function signOut() {
  sessionStorage.removeItem(storageKey);
}

/** An answer other than 2xx: the status and the problem document's title, detail and field errors. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `The API answered ${status}.`);
    this.status = status;
    this.title = problem?.title ?? `HTTP ${status}`;
    this.errors = Array.isArray(problem?.errors) ? problem.errors : [];
  }

  /** The route is not served by this host (an older host, or a feature it does not have). */
  get notServed() {
    return this.status === 404 || this.status === 405;
  }
}

let onUnauthorized = () => {};

/** What to do when the API no longer accepts the credential (401). */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/**
 * Calls the API: `path` starts with /api. A body that is a string is sent as is with `contentType`, anything else as
 * JSON. Answers the parsed JSON (or null for 204) and the HTTP status; throws ApiError for anything but 2xx.
 */
export async function call(path, { method = 'GET', body, contentType = 'application/json', signal } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  const signedIn = credential();
  if (signedIn?.kind === 'key') {
    headers['x-functions-key'] = signedIn.value;
  } else if (signedIn?.kind === 'bearer') {
    headers.Authorization = `Bearer ${signedIn.value}`;
  }
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = contentType;
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload, cache: 'no-store', credentials: 'same-origin', redirect: 'error', signal });
  const text = await response.text();
  let json = null;
  if (text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, json);
    if (response.status === 401 && path !== '/api/me') {
      onUnauthorized(error);
    }
    throw error;
  }
  return { status: response.status, data: json };
}

export const get = async (path, options) => (await call(path, options)).data;

/** Builds "/api/x?a=1&b=2" from the parameters that have a value. */
export function withQuery(path, parameters) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== '') {
      query.set(name, value);
    }
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export const segment = encodeURIComponent;
