// Live edits while something else runs: an open loop of PATCH /customers/:id at a steady rate over
// linked customers, and, once they are done at Stripe, the latency of each from its commit (the
// outbox row's occurred_at, read back from the CHANGES stream) to its Stripe call answered.
import type { NatsConnection } from '@nats-io/transport-node';
import { writeCustomer, type Target } from './api.ts';
import { readLanded } from './capture.ts';
import { changeKey } from './stripe-calls.ts';
import { sleep, spread, type Spread } from './report.ts';

export interface LiveWrite {
  key: string;
  sentAt: number;
}

export interface LiveEdits {
  /** Writes answered so far, in the order sent. */
  readonly writes: readonly LiveWrite[];
  stop(): Promise<{ writes: LiveWrite[]; errors: number }>;
}

export function startLiveEdits(t: Target, ids: readonly string[], perSecond: number): LiveEdits {
  const writes: LiveWrite[] = [];
  const inflight = new Set<Promise<void>>();
  let errors = 0;
  let running = true;
  const loop = (async () => {
    const start = Date.now();
    for (let sent = 0; running; await sleep(5)) {
      const due = Math.floor(((Date.now() - start) * perSecond) / 1000);
      for (; sent < due; sent++) {
        const sentAt = Date.now();
        const id = ids[sent % ids.length]!;
        const p = writeCustomer(t, 'PATCH', `/customers/${id}`, { name: `Live ${sent}` }).then(
          (r) => void writes.push({ key: changeKey(r.id, r.version), sentAt }),
          () => void errors++,
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
    }
  })();
  return {
    writes,
    async stop() {
      running = false;
      await loop;
      await Promise.all(inflight);
      return { writes: [...writes], errors };
    },
  };
}

/** Waits until every write's Stripe call is answered; fails after `timeoutMs` without one more. */
export async function waitForCalls(
  writes: readonly LiveWrite[],
  doneAt: ReadonlyMap<string, number>,
  timeoutMs: number,
): Promise<void> {
  const left = () => writes.filter((w) => !doneAt.has(w.key)).length;
  let seen = left();
  let progressAt = Date.now();
  while (seen > 0) {
    if (Date.now() - progressAt > timeoutMs)
      throw new Error(`${seen} live edits not at Stripe; none done for ${timeoutMs} ms`);
    await sleep(100);
    const now = left();
    if (now < seen) [seen, progressAt] = [now, Date.now()];
  }
}

export interface LiveLatency {
  commit: Spread;
  request: Spread;
}

/** Commit -> call done and request -> call done of `writes`, whose changes are in `fromSeq..toSeq`. */
export async function liveLatency(
  nc: NatsConnection,
  stream: string,
  [fromSeq, toSeq]: readonly [number, number],
  writes: readonly LiveWrite[],
  doneAt: ReadonlyMap<string, number>,
): Promise<LiveLatency> {
  const wanted = new Set(writes.map((w) => w.key));
  const committed = new Map<string, number>();
  for (const l of await readLanded(nc, stream, fromSeq, toSeq)) {
    const key = changeKey(l.customerId, l.version);
    if (wanted.has(key)) committed.set(key, l.occurredAtMs);
  }
  const commit: number[] = [];
  const request: number[] = [];
  for (const w of writes) {
    const done = doneAt.get(w.key);
    if (done === undefined) continue;
    request.push(done - w.sentAt);
    const at = committed.get(w.key);
    if (at !== undefined) commit.push(done - at);
  }
  return { commit: spread(commit), request: spread(request) };
}
