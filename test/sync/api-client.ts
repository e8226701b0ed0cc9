// The rtws API as the tests drive it: creates, patches and sync views, a few clients at a time.
import { authHeaders } from '../harness/rtws.ts';

/** Longer than any answer of the API under load. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface SyncTarget {
  status: string;
  external_id: string | null;
  synced_version: number;
  /** The intent waiting for the target's executor, if any. */
  pending: { type: string }[];
  last_error: { failure: string; reason: string } | null;
}

export interface SyncView {
  customer_id: string;
  version: number;
  targets: Record<string, SyncTarget>;
  links: Record<string, string>;
}

export class ApiError extends Error {
  constructor(what: string, status: number, body: string) {
    super(`${what}: ${status} ${body}`);
    this.name = 'ApiError';
  }
}

export interface ApiClient {
  create(body: Record<string, unknown>): Promise<{ id: string; version: number }>;
  patch(id: string, body: Record<string, unknown>): Promise<{ id: string; version: number }>;
  sync(id: string): Promise<SyncView>;
}

export function apiClient(baseUrl: string): ApiClient {
  const call = async <T>(what: string, path: string, init: RequestInit, ok: number): Promise<T> => {
    // A request that hangs fails the test naming it, rather than stalling the file.
    const res = await fetch(`${baseUrl}${path}`, {
      ...init,
      headers: authHeaders(),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    }).catch((err: unknown) => {
      throw new Error(`${init?.method ?? 'GET'} ${path}: ${String(err)}`);
    });
    const text = await res.text();
    if (res.status !== ok) throw new ApiError(what, res.status, text);
    return JSON.parse(text) as T;
  };
  return {
    create: (body) =>
      call('create', '/customers', { method: 'POST', body: JSON.stringify(body) }, 201),
    patch: (id, body) =>
      call('patch', `/customers/${id}`, { method: 'PATCH', body: JSON.stringify(body) }, 200),
    sync: (id) => call('sync', `/customers/${id}/sync`, { method: 'GET' }, 200),
  };
}

/** Runs `fn` over `items` with at most `concurrency` in flight; results keep the input order. */
export async function inPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}
