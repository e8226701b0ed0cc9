// The erasure API as the erasure suites call it.
import { authHeaders } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import type { TwoWay } from '../inbound/stack.ts';

export interface Erasure {
  id: string;
  status: string;
  remote: boolean;
  requested_by: string;
  note: string | null;
  removed: Record<string, Record<string, unknown>>;
}

export async function call<T>(s: TwoWay, method: string, path: string, body?: unknown) {
  // A request that hangs fails the test naming it, rather than stalling the file.
  const res = await fetch(`${s.rtws.url}${path}`, {
    method,
    headers: authHeaders(),
    signal: AbortSignal.timeout(30_000),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).catch((err: unknown) => {
    throw new Error(`${method} ${path}: ${String(err)}`);
  });
  return { status: res.status, body: (await res.json()) as T };
}

export const askErasure = (s: TwoWay, customerId: string) =>
  call<Erasure>(s, 'POST', `/customers/${customerId}/erase`, {});

/** The erasure once finished. */
export function erased(s: TwoWay, erasureId: string, timeoutMs = 30_000): Promise<Erasure> {
  return eventually(
    async () => (await call<Erasure>(s, 'GET', `/erasures/${erasureId}`)).body,
    (e) => e.status === 'erased',
    timeoutMs,
    200,
  );
}
