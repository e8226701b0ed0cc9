// What the backfill benchmark reads from rtws while an import runs: the backfill over HTTP, the
// rows Stripe brought into the catalogue, the messages on the streams, and how its event loop fared
// (the thread's scheduler statistics and the loop delay rtws reports in /metrics).
import { readFileSync } from 'node:fs';
import { streamCount } from './capture.ts';
import type { Target } from './api.ts';
import type { BackfillStack } from './backfill-stack.ts';

/** `GET /backfills/:id`, as much of it as the benchmark reads. */
export interface View {
  id: number;
  state: string;
  scanned: number;
  counts: Record<string, number>;
  errors: number;
  last_error: string | null;
  rate_per_s: number | null;
  started_at: string;
  ended_at: string | null;
}

/** One call to rtws's API with its bearer token; JSON in and out. */
export async function api<T>(
  t: Target,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(new URL(path, t.url), {
    method,
    headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Customers Stripe brought into the catalogue, and when the last of them was inserted (ms). */
export async function storedRows(s: BackfillStack): Promise<{ n: number; lastAt: number }> {
  const [r] = await s.o.sql<{ n: number; last: number | null }[]>`
    SELECT count(*)::int AS n, (extract(epoch FROM max(created_at)) * 1000)::float8 AS last
    FROM customers WHERE origin = 'stripe'`;
  return { n: r!.n, lastAt: r!.last ?? NaN };
}

/** Messages stored so far (last sequence) on the streams an import writes to. */
export interface Messages {
  /** Customer subjects: captured changes, handovers, mapped facts and outcomes (the actors' steps). */
  changes: number;
  /** Verified webhooks. */
  inbound: number;
  /** Actor snapshots written. */
  snapshots: number;
}

export async function messages(s: BackfillStack): Promise<Messages> {
  const { streams } = s.env.names;
  return {
    changes: await streamCount(s.o.nats, streams.changes),
    inbound: await streamCount(s.o.nats, streams.inbound),
    snapshots: await streamCount(s.o.nats, `KV_${s.env.names.bucket('ACTORS')}`),
  };
}

export const minus = (a: Messages, b: Messages): Messages => ({
  changes: a.changes - b.changes,
  inbound: a.inbound - b.inbound,
  snapshots: a.snapshots - b.snapshots,
});

/** The rtws event loop's thread: CPU it got and time it waited, runnable, for a core (ns). */
export function schedstat(pid: number): { cpu: number; waited: number } {
  const [cpu, waited] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
  return { cpu: cpu ?? NaN, waited: waited ?? NaN };
}

/** rtws's event-loop delay since the last scrape (prom-client resets it on each), in ms. */
export async function loopDelay(t: Target): Promise<{ p50: number; p99: number; max: number }> {
  const res = await fetch(new URL('/metrics', t.url), {
    headers: { authorization: `Bearer ${t.token}` },
  });
  const text = await res.text();
  const metric = (name: string) =>
    Number(
      new RegExp(`^rtws_process_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1],
    ) * 1000;
  return { p50: metric('p50'), p99: metric('p99'), max: metric('max') };
}
