// Every call the console makes: the same HTTP API as any client, with the operator's token as a
// bearer header. The token lives in sessionStorage (gone with the tab) and never in a URL.
const KEY = 'rtws.token';

export const session = {
  token: () => sessionStorage.getItem(KEY),
  signIn: (token) => sessionStorage.setItem(KEY, token),
  signOut: () => sessionStorage.removeItem(KEY),
};

/** A refused or failed call, with the API's problem document (RFC 9457) when it sent one. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail ?? body?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = body;
    /** On a 403: the scope the route needs, as the problem names it. */
    this.scope = body?.scope ?? /needs the (\w+) scope/.exec(body?.detail ?? '')?.[1] ?? null;
  }
}

let unauthorized = () => {};
/** Called when the API refuses the token (401): the console goes back to sign-in. */
export function onUnauthorized(callback) {
  unauthorized = callback;
}

/** `path` with its query: undefined and empty values are left out, the rest encoded. */
export function withQuery(path, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export async function api(method, path, body) {
  const headers = { accept: 'application/json', authorization: `Bearer ${session.token() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401) {
    session.signOut();
    unauthorized();
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path, query) => api('GET', withQuery(path, query));
export const post = (path, body) => api('POST', path, body);
